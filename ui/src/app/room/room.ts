import {
  ChangeDetectionStrategy,
  Component,
  ElementRef,
  OnDestroy,
  afterRenderEffect,
  computed,
  effect,
  inject,
  input,
  signal,
  untracked,
  viewChild,
} from '@angular/core';
import { ChatService, RoomState, words } from '../core/chat.service';
import { FilesService, formatSize, refusal } from '../core/files.service';
import { LIMITS_TEXT, MAX_TEXT_CHARS } from '../core/limits';
import { roomTitle } from '../core/models';
import { SocketService } from '../core/socket.service';
import { Message } from '../core/timeline';
import { shortTime } from '../inbox/inbox';
import { NavService } from '../nav.service';
import { AttachmentComponent } from './attachment';

interface Upload {
  id: number;
  name: string;
  size: string;
  progress: number;
  error: string;
}

const NEAR_TOP_PX = 80;
const NEAR_BOTTOM_PX = 40;

@Component({
  selector: 'app-room',
  imports: [AttachmentComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './room.html',
  host: {
    '(document:visibilitychange)': 'reportReading()',
    '(window:focus)': 'reportReading()',
  },
})
export class RoomComponent implements OnDestroy {
  protected readonly chat = inject(ChatService);
  protected readonly socket = inject(SocketService);
  protected readonly nav = inject(NavService);
  private readonly files = inject(FilesService);

  readonly roomId = input.required<string>();
  protected readonly room = computed<RoomState>(() => {
    const id = this.roomId();
    return untracked(() => this.chat.open(id));
  });
  protected readonly title = computed(() => {
    const info = this.room().info();
    const entry = this.chat.inbox().find((e) => e.room_id === this.roomId());
    const peer = info?.members.find((m) => m !== this.chat.me());
    if (info?.kind === 'dm' && peer) {
      return peer;
    }
    return entry ? roomTitle(entry) : info?.name ?? '';
  });
  protected readonly draft = signal('');
  protected readonly editingSeq = signal<number | null>(null);
  protected readonly editText = signal('');
  protected readonly confirmingDelete = signal<number | null>(null);
  protected readonly uploads = signal<Upload[]>([]);
  protected readonly dragging = signal(false);
  protected readonly inviteName = signal('');
  protected readonly inviteError = signal('');
  protected readonly limits = LIMITS_TEXT;
  protected readonly maxText = MAX_TEXT_CHARS;
  protected readonly time = shortTime;

  private readonly list = viewChild<ElementRef<HTMLElement>>('list');
  private readonly composer = viewChild<ElementRef<HTMLTextAreaElement>>('composer');
  private stickToBottom = true;
  /** Distance from the bottom to keep while an older page is inserted above. */
  private anchor: number | null = null;
  private uploadIds = 0;

  constructor() {
    effect(() => {
      this.roomId();
      this.stickToBottom = true;
      this.editingSeq.set(null);
      this.draft.set('');
      this.uploads.set([]);
      // Opening a conversation puts the cursor where the user will type.
      queueMicrotask(() => this.composer()?.nativeElement.focus({ preventScroll: true }));
    });
    afterRenderEffect(() => {
      this.room().items();
      this.chat.room(this.roomId())?.loading();
      const list = this.list()?.nativeElement;
      if (!list) {
        return;
      }
      if (this.anchor !== null) {
        list.scrollTop = list.scrollHeight - this.anchor;
        this.anchor = null;
      } else if (this.stickToBottom) {
        list.scrollTop = list.scrollHeight;
      }
      this.reportReading();
      if (list.scrollHeight <= list.clientHeight || list.scrollTop < NEAR_TOP_PX) {
        void this.older(); // the page does not fill the screen, or the reader is already at the top
      }
    });
  }

  ngOnDestroy(): void {
    this.chat.setReading(this.roomId(), false);
  }

  protected onScroll(): void {
    const list = this.list()?.nativeElement;
    if (!list) {
      return;
    }
    this.stickToBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    this.reportReading();
    if (list.scrollTop < NEAR_TOP_PX) {
      void this.older();
    }
  }

  protected keepBottom(): void {
    const list = this.list()?.nativeElement;
    if (list && this.stickToBottom) {
      list.scrollTop = list.scrollHeight;
    }
  }

  reportReading(): void {
    this.chat.setReading(this.roomId(), this.stickToBottom);
  }

  private async older(): Promise<void> {
    const room = this.room();
    const list = this.list()?.nativeElement;
    if (!list || !room.hasOlder() || room.loadingOlder() || room.loading()) {
      return;
    }
    this.anchor = list.scrollHeight - list.scrollTop;
    await this.chat.loadOlder(room.id);
  }

  // --- writing -------------------------------------------------------------------------------------

  protected onKeydown(event: KeyboardEvent): void {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  protected onInput(value: string): void {
    this.draft.set(value);
    if (value.trim()) {
      this.chat.typing(this.roomId());
    }
  }

  protected submit(event?: Event): void {
    event?.preventDefault();
    const text = this.draft().trim();
    if (!text || text.length > MAX_TEXT_CHARS) {
      return;
    }
    this.stickToBottom = true;
    this.chat.send(this.roomId(), text);
    this.draft.set('');
    this.composer()?.nativeElement.focus();
  }

  protected retry(clientId: string): void {
    this.chat.retry(this.roomId(), clientId);
  }

  protected discard(clientId: string): void {
    this.chat.discard(this.roomId(), clientId);
  }

  protected mine(message: Message): boolean {
    return message.author === this.chat.me();
  }

  protected startEdit(message: Message): void {
    this.confirmingDelete.set(null);
    this.editingSeq.set(message.seq);
    this.editText.set(message.text);
  }

  protected onEditKeydown(event: KeyboardEvent, seq: number): void {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void this.saveEdit(seq);
    } else if (event.key === 'Escape') {
      this.editingSeq.set(null);
    }
  }

  protected async saveEdit(seq: number): Promise<void> {
    const text = this.editText().trim();
    this.editingSeq.set(null);
    const current = this.room().timeline.messages.get(seq);
    if (text && current && text !== current.text) {
      await this.chat.edit(this.roomId(), seq, text);
    }
  }

  protected async remove(seq: number): Promise<void> {
    this.confirmingDelete.set(null);
    await this.chat.remove(this.roomId(), seq);
  }

  protected async invite(event: Event): Promise<void> {
    event.preventDefault();
    const user = this.inviteName().trim();
    if (!user) {
      return;
    }
    this.inviteError.set('');
    try {
      await this.chat.invite(this.roomId(), user);
      this.inviteName.set('');
    } catch (error) {
      this.inviteError.set(words(error));
    }
  }

  // --- files ---------------------------------------------------------------------------------------

  protected picked(input: HTMLInputElement): void {
    this.share([...(input.files ?? [])]);
    input.value = '';
  }

  protected onDragOver(event: DragEvent): void {
    if (event.dataTransfer?.types.includes('Files')) {
      event.preventDefault();
      this.dragging.set(true);
    }
  }

  protected onDragLeave(event: DragEvent): void {
    const pane = event.currentTarget as HTMLElement;
    if (!pane.contains(event.relatedTarget as Node | null)) {
      this.dragging.set(false);
    }
  }

  protected onDrop(event: DragEvent): void {
    event.preventDefault();
    this.dragging.set(false);
    this.share([...(event.dataTransfer?.files ?? [])]);
  }

  private share(files: File[]): void {
    const roomId = this.roomId();
    for (const file of files) {
      const upload: Upload = {
        id: ++this.uploadIds,
        name: file.name,
        size: formatSize(file.size),
        progress: 0,
        error: refusal(file) ?? '',
      };
      this.uploads.update((list) => [...list, upload]);
      if (upload.error) {
        continue;
      }
      const change = (patch: Partial<Upload>) =>
        this.uploads.update((list) => list.map((u) => (u.id === upload.id ? { ...u, ...patch } : u)));
      this.files
        .upload(roomId, file, (progress) => change({ progress }))
        .then((attachment) => {
          this.stickToBottom = true;
          this.chat.send(roomId, '', [attachment]);
          this.uploads.update((list) => list.filter((u) => u.id !== upload.id));
        })
        .catch((error) => change({ error: words(error) }));
    }
  }

  protected dismissUpload(id: number): void {
    this.uploads.update((list) => list.filter((u) => u.id !== id));
  }
}
