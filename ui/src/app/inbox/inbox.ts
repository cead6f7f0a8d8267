import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { ChatService, words } from '../core/chat.service';
import { InboxEntry, roomTitle } from '../core/models';
import { NavService } from '../nav.service';

@Component({
  selector: 'app-inbox',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './inbox.html',
})
export class InboxComponent {
  protected readonly chat = inject(ChatService);
  protected readonly nav = inject(NavService);
  protected readonly peer = signal('');
  protected readonly roomName = signal('');
  protected readonly roomMembers = signal('');
  protected readonly error = signal('');
  protected readonly title = roomTitle;

  protected preview(entry: InboxEntry): string {
    const last = entry.last_message;
    if (!last) {
      return 'No messages yet';
    }
    const who = last.author === this.chat.me() ? 'You' : last.author;
    return `${who}: ${last.deleted ? 'message deleted' : last.preview}`;
  }

  protected when(entry: InboxEntry): string {
    return entry.last_activity ? shortTime(entry.last_activity) : '';
  }

  protected async startDm(event: Event): Promise<void> {
    event.preventDefault();
    const peer = this.peer().trim();
    if (!peer) {
      return;
    }
    this.error.set('');
    try {
      this.nav.open(await this.chat.openDm(peer));
      this.peer.set('');
    } catch (error) {
      this.error.set(words(error));
    }
  }

  protected async createRoom(event: Event): Promise<void> {
    event.preventDefault();
    const name = this.roomName().trim();
    if (!name) {
      return;
    }
    const members = this.roomMembers()
      .split(/[\s,]+/)
      .map((m) => m.trim())
      .filter(Boolean);
    this.error.set('');
    try {
      this.nav.open(await this.chat.createRoom(name, members));
      this.roomName.set('');
      this.roomMembers.set('');
    } catch (error) {
      this.error.set(words(error));
    }
  }
}

export function shortTime(at: string): string {
  const date = new Date(at);
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
