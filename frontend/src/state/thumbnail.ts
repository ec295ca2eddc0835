/**
 * Thumbnails for images being shared (PROTOCOL.md §8.2), made in the
 * browser: decoded with `createImageBitmap`, drawn onto an `OffscreenCanvas`
 * with its longest side at most 320 px, and encoded as JPEG at lower and
 * lower quality until it fits 40 KiB. Anything that fails (a format the
 * browser cannot decode, no OffscreenCanvas) means no thumbnail, never a
 * failed upload. No DOM: both APIs exist in workers too.
 */

import { THUMBNAIL_MAX_BYTES, THUMBNAIL_QUALITIES, THUMBNAIL_SOURCE_TYPES, thumbnailSize } from "./files";

/** A thumbnail's bytes and size, as a `file` content carries it (before base64url). */
export interface Thumbnail {
  readonly type: "image/jpeg";
  readonly width: number;
  readonly height: number;
  readonly bytes: Uint8Array;
}

/** Images larger than this are not decoded for a thumbnail (memory). */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;

/** The thumbnail of `file` if it is an image this browser can decode, else null. */
export async function makeThumbnail(file: Blob): Promise<Thumbnail | null> {
  if (
    !THUMBNAIL_SOURCE_TYPES.includes(file.type.toLowerCase()) ||
    file.size > MAX_SOURCE_BYTES ||
    typeof createImageBitmap !== "function" ||
    typeof OffscreenCanvas !== "function"
  ) {
    return null;
  }
  let bitmap: ImageBitmap | null = null;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const { width, height } = thumbnailSize(bitmap.width, bitmap.height);
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    if (context === null) {
      return null;
    }
    // JPEG has no transparency: a transparent PNG shows on white, not black.
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    for (const quality of THUMBNAIL_QUALITIES) {
      const blob = await canvas.convertToBlob({ type: "image/jpeg", quality });
      if (blob.size > 0 && blob.size <= THUMBNAIL_MAX_BYTES) {
        return { type: "image/jpeg", width, height, bytes: new Uint8Array(await blob.arrayBuffer()) };
      }
    }
    return null;
  } catch (caught) {
    console.warn("PiPo: no thumbnail for this image", caught);
    return null;
  } finally {
    bitmap?.close();
  }
}
