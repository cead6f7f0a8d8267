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
            (loadedmetadata)="loaded.emit()"
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

  constructor() {
    effect(() => {
      const attachment = this.attachment();
      this.files.objectUrl(this.roomId(), attachment).then(
        (url) => this.url.set(url),
        () => this.error.set('could not be loaded'),
      );
    });
  }
}
