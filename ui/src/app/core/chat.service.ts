import { Injectable, WritableSignal, inject, signal } from '@angular/core';
import { Subscription } from 'rxjs';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { Attachment, InboxEntry, MessageRow, RoomEvent, RoomInfo, ServerFrame } from './models';
import { SocketService } from './socket.service';
import { Item, Timeline, isRoomEvent } from './timeline';

export const PAGE_SIZE = 30;
/** `GET /rooms/{id}/events` answers at most this many events at a time. */
export const CATCH_UP_PAGE = 500;
export const SEND_TIMEOUT_MS = 10_000;
export const TYPING_SHOWN_MS = 5_000;
export const TYPING_EVERY_MS = 3_000;

/** What a room view shows; the timeline underneath is plain state, these signals redraw. */
export class RoomState {
  readonly items: WritableSignal<Item[]> = signal([]);
  readonly info = signal<RoomInfo | null>(null);
  readonly typing = signal<string[]>([]);
  readonly loading = signal(true);
  readonly loadingOlder = signal(false);
  readonly hasOlder = signal(false);
  readonly error = signal('');
  /** The "new messages" line: above the first message that was unread when the room opened. */
  readonly firstUnreadSeq = signal<number | null>(null);
  readSeq = 0;
  atBottom = true;
  catching: Promise<void> | null = null;
  catchAgain = false;
  readonly typists = new Map<string, ReturnType<typeof setTimeout>>();
  readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(readonly timeline: Timeline) {}

  get id(): string {
    return this.timeline.roomId;
  }

  redraw(): void {
    this.items.set(this.timeline.items());
    this.hasOlder.set(this.timeline.hasOlder);
  }
}

/** The signed-in user's chat: the inbox, the rooms opened in this tab, and the live socket. */
@Injectable({ providedIn: 'root' })
export class ChatService {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly socket = inject(SocketService);
  private readonly rooms = new Map<string, RoomState>();
  private subscriptions: Subscription[] = [];
  private inboxTimer: ReturnType<typeof setTimeout> | null = null;
  private lastTyping = new Map<string, number>();

  readonly inbox = signal<InboxEntry[]>([]);
  readonly inboxLoaded = signal(false);
  readonly activeRoomId = signal<string | null>(null);
  /** A passing message for the user (a refused edit, a failed invite...). */
  readonly notice = signal('');

  start(): void {
    this.stop();
    this.subscriptions = [
      this.socket.frames.subscribe((frame) => this.onFrame(frame)),
      this.socket.opened.subscribe(({ reconnect }) => this.onOpened(reconnect)),
    ];
    this.socket.start();
    void this.reloadInbox();
  }

  stop(): void {
    this.subscriptions.forEach((s) => s.unsubscribe());
    this.subscriptions = [];
    this.socket.stop();
    for (const room of this.rooms.values()) {
      room.timers.forEach((t) => clearTimeout(t));
      room.typists.forEach((t) => clearTimeout(t));
    }
    this.rooms.clear();
    this.inbox.set([]);
    this.inboxLoaded.set(false);
    this.activeRoomId.set(null);
  }

  me(): string {
    return this.auth.username();
  }

  room(roomId: string): RoomState | undefined {
    return this.rooms.get(roomId);
  }

  /** The room's state, loading its latest page and catching up from the log the first time. */
  open(roomId: string): RoomState {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new RoomState(new Timeline(roomId, this.me()));
      this.rooms.set(roomId, room);
      void this.load(room);
    }
    return room;
  }

  async reloadInbox(): Promise<void> {
    try {
      const { rooms } = await this.api.inbox();
      this.inbox.set(sortByActivity(rooms));
      this.inboxLoaded.set(true);
      const open = this.rooms.get(this.activeRoomId() ?? '');
      if (open) {
        this.readIfReading(open); // the server may not know yet what this tab has read
      }
    } catch (error) {
      this.notice.set(words(error));
    }
  }

  async loadOlder(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (!room || !room.timeline.hasOlder || room.loadingOlder() || !room.timeline.started) {
      return;
    }
    room.loadingOlder.set(true);
    try {
      const page = await this.api.history(roomId, room.timeline.oldestSeq, PAGE_SIZE);
      room.timeline.addHistory(newest(page.messages, PAGE_SIZE), PAGE_SIZE);
      room.redraw();
    } catch (error) {
      room.error.set(words(error));
    } finally {
      room.loadingOlder.set(false);
    }
  }

  /** Brings a room up to date from the log: everything after the last seq it applied. */
  catchUp(room: RoomState): Promise<void> {
    if (room.catching) {
      room.catchAgain = true;
      return room.catching;
    }
    room.catching = (async () => {
      do {
        room.catchAgain = false;
        for (;;) {
          const { events } = await this.api.events(room.id, room.timeline.lastSeq);
          for (const event of events) {
            this.updateInbox(event);
            room.timeline.receive(event);
          }
          room.redraw();
          if (events.length < CATCH_UP_PAGE) {
            break;
          }
        }
      } while (room.catchAgain);
      this.readIfReading(room);
    })()
      .catch((error) => room.error.set(words(error)))
      .finally(() => (room.catching = null));
    return room.catching;
  }

  send(roomId: string, text: string, attachments: Attachment[] = []): void {
    const room = this.open(roomId);
    const clientId = crypto.randomUUID();
    this.lastTyping.delete(roomId); // the others stop showing "typing" when this arrives
    room.timeline.addPending(clientId, text, attachments, new Date().toISOString());
    room.redraw();
    this.transmit(room, clientId);
  }

  /** Sends a failed message again with the same client_id: the server stores it at most once. */
  retry(roomId: string, clientId: string): void {
    const room = this.rooms.get(roomId);
    if (room?.timeline.retrying(clientId)) {
      room.redraw();
      this.transmit(room, clientId);
    }
  }

  discard(roomId: string, clientId: string): void {
    const room = this.rooms.get(roomId);
    if (room?.timeline.pending.get(clientId)?.status === 'failed') {
      room.timeline.pending.delete(clientId);
      room.redraw();
    }
  }

  async edit(roomId: string, seq: number, text: string): Promise<void> {
    const frame = { action: 'edit', room_id: roomId, seq, text, client_id: crypto.randomUUID() };
    if (!this.socket.send(frame)) {
      await this.api.edit(roomId, seq, text).catch((e) => this.notice.set(words(e)));
    }
  }

  async remove(roomId: string, seq: number): Promise<void> {
    const frame = { action: 'delete', room_id: roomId, seq, client_id: crypto.randomUUID() };
    if (!this.socket.send(frame)) {
      await this.api.remove(roomId, seq).catch((e) => this.notice.set(words(e)));
    }
  }

  typing(roomId: string): void {
    const now = Date.now();
    if (now - (this.lastTyping.get(roomId) ?? 0) >= TYPING_EVERY_MS) {
      this.lastTyping.set(roomId, now);
      this.socket.send({ action: 'typing', room_id: roomId });
    }
  }

  /** The room is on screen with its newest message visible. */
  setReading(roomId: string, atBottom: boolean): void {
    const room = this.rooms.get(roomId);
    if (room) {
      room.atBottom = atBottom;
      this.readIfReading(room);
    }
  }

  /** Moves the user's read marker to the newest message shown. */
  markRead(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) {
      return;
    }
    const seq = room.timeline.newestMessageSeq();
    if (seq > room.readSeq) {
      room.readSeq = seq;
      this.socket.send({ action: 'read', room_id: roomId, seq });
    }
    this.patchEntry(roomId, (entry) => ({ ...entry, unread: 0, read_seq: Math.max(entry.read_seq, seq) }));
  }

  async openDm(peer: string): Promise<string> {
    const written = await this.api.openDm(peer);
    await this.reloadInbox();
    return written.room_id;
  }

  async createRoom(name: string, members: string[]): Promise<string> {
    const written = await this.api.createRoom(name, members);
    await this.reloadInbox();
    return written.room_id;
  }

  async invite(roomId: string, user: string): Promise<void> {
    await this.api.invite(roomId, user);
    const room = this.rooms.get(roomId);
    if (room) {
      room.info.set(await this.api.room(roomId));
    }
  }

  // --- what the socket says -------------------------------------------------------------------

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ack':
        return this.onAck(frame as Extract<ServerFrame, { type: 'ack' }>);
      case 'error':
        return this.onError(frame as Extract<ServerFrame, { type: 'error' }>);
      case 'typing':
        return this.onTyping(frame as Extract<ServerFrame, { type: 'typing' }>);
      case 'read.marked':
        return this.onReadMarked(frame as RoomEvent);
      case 'pong':
        return;
      default:
        if (isRoomEvent(frame)) {
          this.onRoomEvent(frame as RoomEvent);
        }
    }
  }

  private onOpened(reconnect: boolean): void {
    if (reconnect) {
      void this.reloadInbox();
    }
    for (const room of this.rooms.values()) {
      if (room.timeline.started) {
        void this.catchUp(room);
      }
      for (const pending of room.timeline.pending.values()) {
        if (pending.status === 'sending') {
          this.transmit(room, pending.clientId);
        }
      }
    }
  }

  private onRoomEvent(event: RoomEvent): void {
    this.updateInbox(event);
    const room = this.rooms.get(event.room_id);
    if (!room) {
      return;
    }
    const received = room.timeline.receive(event);
    if (received === 'gap' && room.timeline.started) {
      void this.catchUp(room);
    }
    if (event.type === 'message.created') {
      this.stopTyping(room, event.actor);
    }
    if ((event.type === 'user.joined' || event.type === 'user.left') && received !== 'duplicate') {
      void this.api.room(room.id).then((info) => room.info.set(info), () => undefined);
    }
    room.redraw();
    this.readIfReading(room);
  }

  private onAck(frame: { client_id: string; room_id: string; seq: number }): void {
    const room = this.rooms.get(frame.room_id);
    if (!room || !frame.client_id) {
      return;
    }
    clearTimeout(room.timers.get(frame.client_id));
    room.timers.delete(frame.client_id);
    if (room.timeline.ack(frame.client_id, frame.seq)) {
      room.redraw();
      if (frame.seq > room.timeline.lastSeq) {
        // The event itself should follow on the socket; if it went missing, the log has it.
        const id = frame.client_id;
        room.timers.set(
          id,
          setTimeout(() => {
            room.timers.delete(id);
            if (room.timeline.pending.has(id)) {
              void this.catchUp(room);
            }
          }, 3000),
        );
      }
    }
  }

  private onError(frame: { code: string; message: string; client_id: string }): void {
    for (const room of this.rooms.values()) {
      if (frame.client_id && room.timeline.fail(frame.client_id, frame.message)) {
        clearTimeout(room.timers.get(frame.client_id));
        room.redraw();
        return;
      }
    }
    this.notice.set(frame.message);
  }

  private onTyping(frame: { room_id: string; user_id: string }): void {
    const room = this.rooms.get(frame.room_id);
    if (!room || frame.user_id === this.me()) {
      return;
    }
    clearTimeout(room.typists.get(frame.user_id));
    room.typists.set(
      frame.user_id,
      setTimeout(() => this.stopTyping(room, frame.user_id), TYPING_SHOWN_MS),
    );
    room.typing.set([...room.typists.keys()].sort());
  }

  private stopTyping(room: RoomState, user: string): void {
    if (room.typists.has(user)) {
      clearTimeout(room.typists.get(user));
      room.typists.delete(user);
      room.typing.set([...room.typists.keys()].sort());
    }
  }

  /** The user read in another tab. */
  private onReadMarked(event: RoomEvent): void {
    const room = this.rooms.get(event.room_id);
    if (room) {
      room.readSeq = Math.max(room.readSeq, event.seq);
    }
    const entry = this.inbox().find((e) => e.room_id === event.room_id);
    if (entry && event.seq >= (entry.last_message?.seq ?? 0)) {
      this.patchEntry(event.room_id, (e) => ({ ...e, unread: 0, read_seq: event.seq }));
    } else {
      this.reloadInboxSoon();
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  private async load(room: RoomState): Promise<void> {
    try {
      const [info, page] = await Promise.all([
        this.api.room(room.id),
        this.api.history(room.id, null, PAGE_SIZE),
      ]);
      room.info.set(info);
      if (info.members.length === 0) {
        void this.refreshInfo(room); // a room this new may not be in the views yet
      }
      const entry = this.inbox().find((e) => e.room_id === room.id);
      room.readSeq = entry?.read_seq ?? 0;
      if (entry && entry.unread > 0) {
        const unread = page.messages.filter((m) => m.seq > room.readSeq && m.author !== this.me());
        room.firstUnreadSeq.set(unread.length ? Math.min(...unread.map((m) => m.seq)) : null);
      }
      room.timeline.addHistory(newest(page.messages, PAGE_SIZE), PAGE_SIZE);
      room.redraw();
      await this.catchUp(room);
    } catch (error) {
      room.error.set(words(error));
    } finally {
      room.loading.set(false);
    }
  }

  private async refreshInfo(room: RoomState, attempts = 10): Promise<void> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const info = await this.api.room(room.id).catch(() => null);
      if (info && info.members.length > 0) {
        room.info.set(info);
        return;
      }
    }
  }

  private transmit(room: RoomState, clientId: string): void {
    const pending = room.timeline.pending.get(clientId);
    if (!pending) {
      return;
    }
    const frame = {
      action: 'send',
      room_id: room.id,
      text: pending.text,
      client_id: clientId,
      attachments: pending.attachments,
    };
    if (!this.socket.send(frame)) {
      return; // stays "sending": it goes out when the socket is back
    }
    clearTimeout(room.timers.get(clientId));
    room.timers.set(
      clientId,
      setTimeout(() => {
        room.timers.delete(clientId);
        if (room.timeline.fail(clientId, 'No answer from the server.')) {
          room.redraw();
        }
      }, SEND_TIMEOUT_MS),
    );
  }

  private readIfReading(room: RoomState): void {
    const visible = typeof document === 'undefined' || document.visibilityState !== 'hidden';
    if (this.activeRoomId() === room.id && room.atBottom && visible && room.timeline.started) {
      this.markRead(room.id);
    }
  }

  private isReading(roomId: string): boolean {
    const room = this.rooms.get(roomId);
    const visible = typeof document === 'undefined' || document.visibilityState !== 'hidden';
    return this.activeRoomId() === roomId && !!room?.atBottom && visible;
  }

  /** The inbox follows the room events: preview, activity, and unread counted once per seq. */
  private updateInbox(event: RoomEvent): void {
    const entry = this.inbox().find((e) => e.room_id === event.room_id);
    const me = this.me();
    if (!entry) {
      this.reloadInboxSoon();
      return;
    }
    if (event.type === 'user.left' && event.data['user_id'] === me) {
      this.reloadInboxSoon();
      return;
    }
    if (event.seq <= entry.last_seq) {
      return;
    }
    const next: InboxEntry = { ...entry, last_seq: event.seq };
    const data = event.data;
    if (event.type === 'message.created') {
      next.last_activity = event.at;
      next.last_message = {
        seq: event.seq,
        author: event.actor,
        preview: serverPreview(event),
        deleted: false,
      };
      if (event.actor === me) {
        next.unread = 0;
      } else if (!this.isReading(event.room_id)) {
        next.unread = entry.unread + 1;
      }
    } else if (event.type === 'message.updated' && data['latest'] && next.last_message) {
      next.last_message = { ...next.last_message, preview: serverPreview(event) };
    } else if (event.type === 'message.deleted' && data['latest'] && next.last_message) {
      next.last_message = { ...next.last_message, preview: '', deleted: true };
    }
    this.patchEntry(event.room_id, () => next);
  }

  private patchEntry(roomId: string, change: (entry: InboxEntry) => InboxEntry): void {
    this.inbox.update((list) =>
      sortByActivity(list.map((entry) => (entry.room_id === roomId ? change(entry) : entry))),
    );
  }

  private reloadInboxSoon(): void {
    if (this.inboxTimer === null) {
      this.inboxTimer = setTimeout(() => {
        this.inboxTimer = null;
        void this.reloadInbox();
      }, 300);
    }
  }
}

/**
 * The inbox preview of a `message.created` / `message.updated` event: the server's, exactly as
 * `GET /rooms` will show it after a reload. An older server sends none: '' rather than a guess.
 */
function serverPreview(event: RoomEvent): string {
  return typeof event.preview === 'string' ? event.preview : '';
}

export function sortByActivity(entries: InboxEntry[]): InboxEntry[] {
  return [...entries].sort(
    (a, b) =>
      (b.last_activity || '').localeCompare(a.last_activity || '') ||
      b.room_id.localeCompare(a.room_id),
  );
}

/** At most `limit` rows, newest first, whatever the server sent: a page is a page. */
export function newest(rows: MessageRow[], limit: number): MessageRow[] {
  return [...rows].sort((a, b) => b.seq - a.seq).slice(0, limit);
}

export function words(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
