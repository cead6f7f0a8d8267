import {
  ChangeDetectionStrategy,
  Component,
  effect,
  inject,
  input,
  output,
  signal,
} from '@angular/core';
import { FilesService, formatSize, kindOf } from '../core/files.service';
import { Attachment } from '../core/models';

/** A shared file: images inline, video in a player, anything else as a download. */
@Component({
  selector: 'app-attachment',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @let file = attachment();
    @if (error()) {
      <span class="file-error">{{ file.name }}: {{ error() }}</span>
    } @else if (!url()) {
      <span class="file-loading">Loading {{ file.name }}…</span>
    } @else {
      @switch (kind()) {
        @case ('image') {
          <a [href]="url()" target="_blank" rel="noopener" class="image-link">
            <img [src]="url()" [alt]="file.name" (load)="loaded.emit()" />
          </a>
        }
        @case ('video') {
          <video
            [src]="url()"
            controls
            preload="auto"
            playsinline
            [attr.aria-label]="file.name"
            (loadedmetadata)="playable()"
            (error)="reload()"
          ></video>
        }
        @default {
          <a class="download" [href]="url()" [attr.download]="file.name">
            Download {{ file.name }} <span class="muted">({{ size() }})</span>
          </a>
        }
      }
    }
  `,
})
export class AttachmentComponent {
  private readonly files = inject(FilesService);
  readonly roomId = input.required<string>();
  readonly attachment = input.required<Attachment>();
  readonly loaded = output<void>();
  protected readonly url = signal('');
  protected readonly error = signal('');
  protected readonly kind = () => kindOf(this.attachment());
  protected readonly size = () => formatSize(this.attachment().size);

  private reloaded = false;

  constructor() {
    effect(() => this.load(this.attachment()));
  }

  protected playable(): void {
    this.reloaded = false;
    this.loaded.emit();
  }

  /** A video's URL expires after a few minutes: a player that fails asks for a new one, once. */
  protected reload(): void {
    if (this.reloaded) {
      this.error.set('could not be played');
      return;
    }
    this.reloaded = true;
    this.load(this.attachment());
  }

  private load(attachment: Attachment): void {
    const url =
      kindOf(attachment) === 'video'
        ? this.files.streamUrl(this.roomId(), attachment)
        : this.files.objectUrl(this.roomId(), attachment);
    url.then(
      (found) => this.url.set(found),
      () => this.error.set('could not be loaded'),
    );
  }
}
