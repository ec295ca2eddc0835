/**
 * Files in the chat (PROTOCOL.md §8), as the state layer offers them:
 * "Attach files" beside the composer, the uploads above it (progress,
 * speed, time left, cancel, errors), dropping files onto a room, and a
 * `file` message (name, size, "Download", a thumbnail that opens the image
 * full size in a dialog). Encryption, keys and the network stay in
 * src/state: this only shows signals and calls the stores.
 */

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { type FileView, formatBytes, progressText, type UploadView } from "../../state";
import { useApp } from "../kit";
import "./files.css";

/** The paperclip beside the composer and its (hidden) file input. */
export function AttachButton({ parent }: { readonly parent: string | null }) {
  const { uploads } = useApp();
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        class="button attach__button"
        aria-label="Attach files"
        title="Attach files"
        onClick={() => input.current?.click()}
      >
        <span aria-hidden="true">📎</span>
      </button>
      <input
        ref={input}
        type="file"
        multiple
        class="visually-hidden"
        tabIndex={-1}
        aria-label="Files to attach"
        onChange={(event) => {
          const chosen = event.currentTarget.files;
          if (chosen !== null && chosen.length > 0) {
            uploads.start([...chosen], parent);
          }
          event.currentTarget.value = ""; // choosing the same file again starts another upload
        }}
      />
    </>
  );
}

/** What an upload's line of text says now. */
function uploadStatus(upload: UploadView): string {
  switch (upload.state) {
    case "queued":
      return "Waiting…";
    case "preparing":
      return "Starting…";
    case "reconnecting":
      return "Reconnecting…";
    case "finishing":
      return "Finishing…";
    default:
      return progressText(upload.sentBytes, upload.totalBytes, upload.bytesPerSecond);
  }
}

/** The uploads of the selected room (or of the thread of `parent`), above its composer. */
export function UploadList({ parent }: { readonly parent: string | null }) {
  const { uploads, rooms } = useApp();
  const room = rooms.selected.value;
  const shown = uploads.uploads.value.filter((each) => each.room === room && each.parent === parent);
  if (shown.length === 0) {
    return null;
  }
  return (
    <div class="uploads">
      {shown.map((upload) => (
        <fieldset class="upload" aria-label={`Upload of ${upload.name}`} key={upload.key}>
          <div class="upload__head">
            <span class="upload__icon" aria-hidden="true">
              {iconFor(upload.name, "")}
            </span>
            <span class="upload__name">{upload.name}</span>
            <span class="upload__size">{formatBytes(upload.totalBytes)}</span>
          </div>
          {upload.state === "failed" ? (
            <Problem
              message={upload.error ?? "The upload failed."}
              dismiss={`Dismiss the error about ${upload.name}`}
              onDismiss={() => uploads.dismiss(upload.key)}
            />
          ) : (
            <div class="upload__progress">
              <progress
                class="transfer__bar"
                aria-label={`Uploading ${upload.name}`}
                max={Math.max(1, upload.totalBytes)}
                value={upload.sentBytes}
              />
              <span class="transfer__text">{uploadStatus(upload)}</span>
              <button
                type="button"
                class="action"
                aria-label={`Cancel upload of ${upload.name}`}
                onClick={() => uploads.cancel(upload.key)}
              >
                Cancel
              </button>
            </div>
          )}
        </fieldset>
      ))}
    </div>
  );
}

/** An error sentence (`role="alert"`) with a button that takes it away. */
function Problem({
  message,
  dismiss,
  onDismiss,
}: {
  readonly message: string;
  readonly dismiss: string;
  readonly onDismiss: () => void;
}) {
  return (
    <div class="transfer__problem">
      <p class="alert transfer__alert" role="alert">
        {message}
      </p>
      <button type="button" class="action" aria-label={dismiss} onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

/**
 * Dropping files anywhere on a room shares them there: the handlers for the
 * room's element, and whether files are being dragged over it now.
 */
export function useFileDrop(): {
  readonly dragging: boolean;
  readonly handlers: {
    onDragEnter(event: DragEvent): void;
    onDragOver(event: DragEvent): void;
    onDragLeave(event: DragEvent): void;
    onDrop(event: DragEvent): void;
  };
} {
  const { uploads } = useApp();
  const [dragging, setDragging] = useState(false);
  const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes("Files") === true;
  return {
    dragging,
    handlers: {
      onDragEnter(event) {
        if (carriesFiles(event)) {
          event.preventDefault();
          setDragging(true);
        }
      },
      onDragOver(event) {
        if (carriesFiles(event)) {
          event.preventDefault(); // allows the drop
          if (event.dataTransfer !== null) {
            event.dataTransfer.dropEffect = "copy";
          }
          setDragging(true);
        }
      },
      onDragLeave(event) {
        const to = event.relatedTarget as Node | null;
        if (to === null || !(event.currentTarget as Node).contains(to)) {
          setDragging(false);
        }
      },
      onDrop(event) {
        setDragging(false);
        const dropped = event.dataTransfer?.files;
        if (dropped === undefined || dropped.length === 0) {
          return;
        }
        event.preventDefault(); // the browser would open the file instead
        uploads.start([...dropped], null);
      },
    },
  };
}

/** The overlay over a room while files are dragged over it. */
export function DropOverlay({ label }: { readonly label: string }) {
  return (
    <div class="drop-overlay">
      <p class="drop-overlay__text">
        <span class="drop-overlay__icon" aria-hidden="true">
          📎
        </span>
        Drop files to share in {label}
      </p>
    </div>
  );
}

/** An icon for a file by its type or name (decoration only). */
function iconFor(name: string, type: string): string {
  const lower = type.toLowerCase();
  const extension = name.toLowerCase().split(".").pop() ?? "";
  if (lower.startsWith("image/") || ["png", "jpg", "jpeg", "gif", "webp", "svg"].includes(extension)) {
    return "🖼️";
  }
  if (lower.startsWith("video/") || ["mp4", "mov", "webm", "mkv"].includes(extension)) {
    return "🎞️";
  }
  if (lower.startsWith("audio/") || ["mp3", "ogg", "wav", "flac", "m4a"].includes(extension)) {
    return "🎵";
  }
  if (["zip", "gz", "tgz", "xz", "bz2", "7z", "rar", "tar"].includes(extension)) {
    return "🗜️";
  }
  return "📄";
}

/** What a `file` message shows: a thumbnail for images, the name and size, and "Download". */
export function FileMessage({ file }: { readonly file: FileView }) {
  const { downloads } = useApp();
  const [viewing, setViewing] = useState(false);
  const opener = useRef<HTMLButtonElement>(null);
  const download = downloads.downloads.value.get(file.id);
  const saving = download?.purpose === "save" ? download : undefined;
  return (
    <div class="file" data-file-id={file.id}>
      <div class="file__box">
        {file.thumbnail !== null ? (
          <button
            type="button"
            ref={opener}
            class="file__thumb"
            aria-label={`Open ${file.name} full size`}
            title="Open full size"
            onClick={() => setViewing(true)}
          >
            <img
              class="file__thumb-image"
              src={file.thumbnail.url}
              alt={file.name}
              width={file.thumbnail.width}
              height={file.thumbnail.height}
            />
          </button>
        ) : null}
        <div class="file__card">
          <span class="file__icon" aria-hidden="true">
            {iconFor(file.name, file.type)}
          </span>
          <span class="file__about">
            <span class="file__name">{file.name}</span>
            <span class="file__size">{formatBytes(file.size)}</span>
          </span>
          {saving?.state === "downloading" ? (
            <span class="file__progress">
              <progress
                class="transfer__bar"
                aria-label={`Downloading ${file.name}`}
                max={Math.max(1, saving.totalBytes)}
                value={saving.doneBytes}
              />
              <span class="transfer__text">
                {progressText(saving.doneBytes, saving.totalBytes, saving.bytesPerSecond)}
              </span>
              <button
                type="button"
                class="action"
                aria-label={`Cancel download of ${file.name}`}
                onClick={() => downloads.cancel(file.id)}
              >
                Cancel
              </button>
            </span>
          ) : (
            <button
              type="button"
              class="button button--small file__download"
              aria-label={`Download ${file.name}`}
              onClick={() => void downloads.save(file)}
            >
              Download
            </button>
          )}
        </div>
      </div>
      {saving?.state === "failed" ? (
        <Problem
          message={saving.error ?? "The download failed."}
          dismiss={`Dismiss the error about ${file.name}`}
          onDismiss={() => downloads.dismiss(file.id)}
        />
      ) : null}
      {viewing ? (
        <ImageDialog
          file={file}
          onClosed={() => {
            setViewing(false);
            opener.current?.focus();
          }}
        />
      ) : null}
    </div>
  );
}

/** The image full size in a modal dialog: downloaded and decrypted first; Escape or "Close" closes it. */
function ImageDialog({ file, onClosed }: { readonly file: FileView; readonly onClosed: () => void }) {
  const { downloads } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const [url, setUrl] = useState<string | null>(null);
  const download = downloads.downloads.value.get(file.id);
  const opening = download?.purpose === "open" ? download : undefined;
  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) {
      element.showModal();
    }
    let current = true;
    void downloads.open(file).then((opened) => {
      if (current) {
        setUrl(opened);
      }
    });
    return () => {
      current = false;
      // Closing stops the image's download (not a save of the same file), and forgets it.
      const left = downloads.downloads.peek().get(file.id);
      if (left?.purpose === "open") {
        if (left.state === "failed") {
          downloads.dismiss(file.id);
        } else {
          downloads.cancel(file.id);
        }
      }
      downloads.release(file);
    };
  }, [downloads, file]);
  let body: ComponentChildren;
  if (url !== null) {
    body = <img class="file-viewer__image" src={url} alt={`${file.name}, full size`} />;
  } else if (opening?.state === "failed") {
    body = (
      <Problem
        message={opening.error ?? "The image could not be opened."}
        dismiss={`Dismiss the error about ${file.name}`}
        onDismiss={() => downloads.dismiss(file.id)}
      />
    );
  } else {
    body = (
      <div class="file-viewer__loading">
        <progress
          class="transfer__bar"
          aria-label={`Downloading ${file.name}`}
          max={Math.max(1, file.size)}
          value={opening?.doneBytes ?? 0}
        />
        <span class="transfer__text">
          {progressText(opening?.doneBytes ?? 0, file.size, opening?.bytesPerSecond ?? null)}
        </span>
      </div>
    );
  }
  return (
    <dialog ref={dialog} class="file-viewer" aria-label={file.name} onClose={onClosed}>
      <div class="file-viewer__head">
        <h3 class="file-viewer__title">{file.name}</h3>
        <button type="button" class="button button--small" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
      <div class="file-viewer__body">{body}</div>
    </dialog>
  );
}
