import {
  ChangeDetectionStrategy,
  Component,
  OnDestroy,
  OnInit,
  computed,
  effect,
  inject,
} from '@angular/core';
import { AuthService } from '../core/auth.service';
import { ChatService } from '../core/chat.service';
import { FilesService } from '../core/files.service';
import { PaceService } from '../core/pace.service';
import { SocketService } from '../core/socket.service';
import { InboxComponent } from '../inbox/inbox';
import { NavService } from '../nav.service';
import { RoomComponent } from '../room/room';

@Component({
  selector: 'app-shell',
  imports: [InboxComponent, RoomComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <div class="shell" [class.room-open]="nav.roomId()">
      <header class="topbar">
        <span class="brand">chat</span>
        <span class="me">Signed in as <strong>{{ auth.username() }}</strong></span>
        <button type="button" (click)="signOut()">Sign out</button>
      </header>
      @if (banner(); as text) {
        <div class="banner" role="status" data-testid="connection-banner">
          {{ text }}
          <button type="button" class="link" (click)="socket.reconnectNow()">Retry now</button>
        </div>
      }
      @if (pace.notice(); as slow) {
        <div class="notice" role="status" data-testid="rate-limited">{{ slow }}</div>
      }
      @if (chat.notice(); as notice) {
        <div class="notice" role="alert">
          {{ notice }}
          <button type="button" class="link" (click)="chat.notice.set('')" aria-label="Dismiss">×</button>
        </div>
      }
      <app-inbox class="inbox-pane" />
      <main class="room-pane">
        @if (nav.roomId(); as roomId) {
          <app-room [roomId]="roomId" />
        } @else {
          <div class="empty">
            <p>Pick a conversation, or start one with the forms on the left.</p>
          </div>
        }
      </main>
    </div>
  `,
})
export class ShellComponent implements OnInit, OnDestroy {
  protected readonly auth = inject(AuthService);
  protected readonly chat = inject(ChatService);
  protected readonly socket = inject(SocketService);
  protected readonly nav = inject(NavService);
  protected readonly pace = inject(PaceService);
  private readonly files = inject(FilesService);

  protected readonly banner = computed(() => {
    const status = this.socket.status();
    if (status === 'offline') {
      return 'Offline. Reconnecting…';
    }
    return status === 'connecting' && this.wasOnline ? 'Reconnecting…' : '';
  });
  private wasOnline = false;

  constructor() {
    effect(() => {
      if (this.socket.status() === 'online') {
        this.wasOnline = true;
      }
      this.chat.activeRoomId.set(this.nav.roomId());
    });
    effect(() => {
      const unread = this.chat.inbox().reduce((sum, entry) => sum + entry.unread, 0);
      document.title = unread ? `(${unread}) chat` : 'chat';
    });
  }

  ngOnInit(): void {
    this.chat.start();
  }

  ngOnDestroy(): void {
    this.chat.stop();
  }

  protected signOut(): void {
    this.chat.stop();
    this.files.clear();
    this.nav.open(null);
    this.auth.signOut();
  }
}
