/**
 * The DOM side of saving a decrypted file (state/downloads.ts decides when):
 * an object URL, an anchor with `download=<sanitised name>` clicked once,
 * and the URL revoked a while later (the browser has taken the file by then).
 */

/** How long an object URL handed to a download stays valid. */
const REVOKE_AFTER_MS = 60_000;

/** Offer `blob` for saving as `name` (already sanitised: never a path). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  anchor.rel = "noopener";
  anchor.hidden = true;
  document.body.append(anchor);
  try {
    anchor.click();
  } finally {
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
  }
}
