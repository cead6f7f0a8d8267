import { Injectable, inject } from '@angular/core';
import { ApiService } from './api.service';
import { ALLOWED_CONTENT_TYPES, MAX_UPLOAD_BYTES } from './limits';
import { Attachment } from './models';

/** Why a file cannot be shared, before anything is uploaded; null when it can. */
export function refusal(file: { name: string; type: string; size: number }): string | null {
  if (!ALLOWED_CONTENT_TYPES.includes(file.type)) {
    return `${file.name}: files of this type (${file.type || 'unknown'}) cannot be shared.`;
  }
  if (file.size <= 0) {
    return `${file.name} is empty.`;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    return `${file.name} is ${formatSize(file.size)}; files are at most ${formatSize(MAX_UPLOAD_BYTES)}.`;
  }
  return null;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export type FileKind = 'image' | 'video' | 'file';

const SHOWN = /^(image\/(png|jpeg|gif|webp)|video\/(mp4|webm))$/;

/**
 * A downloaded file as a local URL may carry it: a picture or a video keeps its type, anything
 * else becomes opaque bytes, so that no stored file is ever opened as a page of the app's origin
 * (a blob: URL opened in a tab runs with the app's origin).
 */
export function inert(blob: Blob): Blob {
  return SHOWN.test(blob.type) ? blob : new Blob([blob], { type: 'application/octet-stream' });
}

export function kindOf(attachment: Attachment): FileKind {
  if (attachment.content_type.startsWith('image/')) {
    return 'image';
  }
  return attachment.content_type.startsWith('video/') ? 'video' : 'file';
}

@Injectable({ providedIn: 'root' })
export class FilesService {
  private readonly api = inject(ApiService);
  private readonly urls = new Map<string, Promise<string>>();

  /** Uploads one file to its presigned POST form, reporting progress from 0 to 1. */
  async upload(roomId: string, file: File, progress: (fraction: number) => void): Promise<Attachment> {
    const form = await this.api.uploadForm(roomId, file);
    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) {
      body.append(name, value);
    }
    body.append('file', file); // S3 wants the file last
    await new Promise<void>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', form.url);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) {
          progress(event.loaded / event.total);
        }
      };
      xhr.onload = () =>
        xhr.status >= 200 && xhr.status < 300
          ? resolve()
          : reject(new Error(`The upload was refused (${xhr.status}).`));
      xhr.onerror = () => reject(new Error('The upload failed: the connection was lost.'));
      xhr.send(body);
    });
    progress(1);
    return form.attachment;
  }

  /** Forgets the files fetched so far (on sign-out). */
  clear(): void {
    for (const url of this.urls.values()) {
      url.then((u) => URL.revokeObjectURL(u), () => undefined);
    }
    this.urls.clear();
  }

  /**
   * A video's URL: the player streams it from storage, so it starts before the whole file is
   * here and can seek. Short-lived, so it is asked for each time a player needs it.
   */
  streamUrl(roomId: string, attachment: Attachment): Promise<string> {
    return this.api.fileUrl(roomId, attachment);
  }

  /** A local URL for a shared file, fetched once with the user's token. */
  objectUrl(roomId: string, attachment: Attachment): Promise<string> {
    let url = this.urls.get(attachment.key);
    if (!url) {
      url = this.api.download(roomId, attachment).then((blob) => URL.createObjectURL(inert(blob)));
      url.catch(() => this.urls.delete(attachment.key));
      this.urls.set(attachment.key, url);
    }
    return url;
  }
}
