import { Injectable, WritableSignal, inject, signal } from '@angular/core';
import { Subscription } from 'rxjs';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { Attachment, InboxEntry, MessageRow, RoomEvent, RoomInfo, ServerFrame } from './models';
import { FRAMES_BUDGET, PaceService } from './pace.service';
import { GAP_WAIT_MS, Sequencer } from './sequencer';
import { SocketService } from './socket.service';
import { Item, Timeline, isRoomEvent } from './timeline';

/** A frame the client keeps until the server acknowledges it. */
type TrackedFrame = { action: string; client_id: string };

export const PAGE_SIZE = 30;
/** `GET /rooms/{id}/events` answers at most this many events at a time. */
export const CATCH_UP_PAGE = 500;
export const SEND_TIMEOUT_MS = 10_000;
export const TYPING_SHOWN_MS = 5_000;
export const TYPING_EVERY_MS = 3_000;
/** A catch-up that failed is tried again after the gap wait times 2, 4, 8, 16 (then 16 again). */
const MAX_BACKOFF = 16;

/**
 * One room's live feed, whether or not the room is open: its frames put back in seq order
 * (the one ordering both the inbox and the timeline take), the gap timer and the catch-up.
 */
class Feed {
  readonly order = new Sequencer<RoomEvent>();
  timer: ReturnType<typeof setTimeout> | null = null;
  catching: Promise<void> | null = null;
  catchAgain = false;
  failures = 0;
}

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
  private readonly pace = inject(PaceService);
  /** Edits, deletes and read markers sent on the socket and not yet acknowledged, by client id:
   * sent again after a `rate_limited` pause or a reconnect (each is safe to repeat), forgotten
   * when no answer comes within SEND_TIMEOUT_MS. One timer each: its resend or its end. */
  private readonly unacked = new Map<string, { frame: TrackedFrame; timer: ReturnType<typeof setTimeout> | null }>();
  private readonly rooms = new Map<string, RoomState>();
  private readonly feeds = new Map<string, Feed>();
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
    for (const feed of this.feeds.values()) {
      clearTimeout(feed.timer ?? undefined);
    }
    clearTimeout(this.inboxTimer ?? undefined);
    this.inboxTimer = null;
    this.unacked.forEach((tracked) => clearTimeout(tracked.timer ?? undefined));
    this.unacked.clear();
    this.pace.clear();
    this.rooms.clear();
    this.feeds.clear();
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
      const known = new Map(this.inbox().map((entry) => [entry.room_id, entry]));
      this.inbox.set(sortByActivity(rooms.map((entry) => fresher(entry, known.get(entry.room_id)))));
      this.inboxLoaded.set(true);
      for (const [roomId, feed] of this.feeds) {
        if (!this.rooms.has(roomId) && !rooms.some((e) => e.room_id === roomId)) {
          clearTimeout(feed.timer ?? undefined); // no longer ours (or not yet: a later answer covers it)
          this.feeds.delete(roomId);
        }
      }
      for (const entry of this.inbox()) {
        this.place(entry.room_id);
      }
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

  /**
   * Brings a room up to date from the log (`events?after=`): from the lowest seq that the inbox,
   * the timeline or the feed has, so each of them gets what it misses, in order; a page at a time.
   */
  catchUp(roomId: string): Promise<void> {
    const feed = this.feed(roomId);
    if (feed.catching) {
      feed.catchAgain = true;
      return feed.catching;
    }
    clearTimeout(feed.timer ?? undefined);
    feed.timer = null;
    const room = this.rooms.get(roomId);
    feed.catching = (async () => {
      do {
        feed.catchAgain = false;
        let after = this.lowestSeq(roomId);
        if (after === null) {
          break; // nothing says where the room stands: nothing can be missing yet
        }
        for (;;) {
          const { events } = await this.api.events(roomId, after);
          for (const event of events) {
            this.deliver(event); // the log is in order: each consumer takes what it has not got
            this.release(roomId, feed.order.reach(event.seq));
          }
          after = events.at(-1)?.seq ?? after;
          if (events.length < CATCH_UP_PAGE) {
            this.release(roomId, feed.order.reach(after)); // the log's head when it was read
            break;
          }
        }
        // A timeline that waited on the catch-up for an event it is still missing asks again.
        feed.catchAgain ||= !!room && room.timeline.started && room.timeline.hasGap();
      } while (feed.catchAgain);
      feed.failures = 0;
    })()
      .catch((error) => {
        feed.failures += 1;
        room?.error.set(words(error));
      })
      .finally(() => {
        feed.catching = null;
        feed.order.restartClock(Date.now());
        this.armGap(roomId);
        if (room) {
          room.redraw();
          this.readIfReading(room);
        }
      });
    return feed.catching;
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
    if (!this.sendTracked(frame)) {
      await this.api.edit(roomId, seq, text).catch((e) => this.notice.set(words(e)));
    }
  }

  async remove(roomId: string, seq: number): Promise<void> {
    const frame = { action: 'delete', room_id: roomId, seq, client_id: crypto.randomUUID() };
    if (!this.sendTracked(frame)) {
      await this.api.remove(roomId, seq).catch((e) => this.notice.set(words(e)));
    }
  }

  typing(roomId: string): void {
    const now = Date.now();
    if (now - (this.lastTyping.get(roomId) ?? 0) >= TYPING_EVERY_MS && !this.pace.leftForFrame('typing')) {
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
      const frame = { action: 'read', room_id: roomId, seq, client_id: crypto.randomUUID() };
      if (!this.sendTracked(frame)) {
        void this.api.markRead(roomId, seq).catch(() => {
          room.readSeq = Math.min(room.readSeq, seq - 1); // not moved: the next read tries again
        });
      }
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
    for (const clientId of this.unacked.keys()) {
      this.resend(clientId);
    }
    for (const room of this.rooms.values()) {
      if (room.timeline.started) {
        void this.catchUp(room.id);
      }
      for (const pending of room.timeline.pending.values()) {
        if (pending.status === 'sending') {
          this.transmit(room, pending.clientId);
        }
      }
    }
  }

  /**
   * A room event from the socket: it goes through the room's feed, which applies it, and
   * whatever it was holding behind it, in seq order, to the inbox and the timeline alike.
   */
  private onRoomEvent(event: RoomEvent): void {
    const feed = this.feed(event.room_id);
    if (feed.order.last === null) {
      this.place(event.room_id);
    }
    if (feed.order.last === null && this.startsTheRoom(event)) {
      this.release(event.room_id, feed.order.reach(event.seq - 1)); // nothing before it concerns us
    }
    this.release(event.room_id, feed.order.offer(event, Date.now()));
    if (feed.order.last === null) {
      this.reloadInboxSoon(); // a room this tab does not know yet: the inbox says where it stands
    }
    this.armGap(event.room_id);
  }

  /** A room's first event for this user: its creation, or their own joining. */
  private startsTheRoom(event: RoomEvent): boolean {
    return (
      (event.type === 'room.created' && event.seq === 1) ||
      (event.type === 'user.joined' && event.data['user_id'] === this.me())
    );
  }

  /** Events the feed released, in seq order: every consumer takes them, then the room redraws. */
  private release(roomId: string, events: RoomEvent[]): void {
    if (events.length === 0) {
      return;
    }
    for (const event of events) {
      this.deliver(event);
    }
    const room = this.rooms.get(roomId);
    if (room) {
      room.redraw();
      this.readIfReading(room);
    }
  }

  /** One event, in seq order, to the inbox and the open timeline; each drops what it already has. */
  private deliver(event: RoomEvent): void {
    this.updateInbox(event);
    const room = this.rooms.get(event.room_id);
    if (!room) {
      return;
    }
    const received = room.timeline.receive(event);
    if (received === 'gap' && room.timeline.started && !this.feed(room.id).catching) {
      // The timeline started behind the feed (its first page is older): only the log has the rest.
      // A catch-up under way reads that far and asks again if the timeline still misses something.
      void this.catchUp(room.id);
    }
    if (event.type === 'message.created') {
      this.stopTyping(room, event.actor);
    }
    if ((event.type === 'user.joined' || event.type === 'user.left') && received !== 'duplicate') {
      void this.api.room(room.id).then((info) => room.info.set(info), () => undefined);
    }
  }

  /**
   * Tells the room's feed where the room stands once the inbox or the timeline knows: the lowest
   * seq either has, so the feed never skips an event one of them still needs. A consumer behind
   * the feed (a snapshot older than what was already applied) catches up from the log.
   */
  private place(roomId: string): void {
    const feed = this.feed(roomId);
    const entry = this.inbox().find((e) => e.room_id === roomId);
    const room = this.rooms.get(roomId);
    const known = [entry?.last_seq, room?.timeline.started ? room.timeline.lastSeq : undefined];
    const seqs = known.filter((seq): seq is number => seq !== undefined);
    if (seqs.length === 0) {
      return;
    }
    const lowest = Math.min(...seqs);
    if (feed.order.last !== null && lowest < feed.order.last) {
      void this.catchUp(roomId); // released already, but not to this one
    }
    this.release(roomId, feed.order.reach(lowest));
    this.armGap(roomId);
  }

  /** The lowest seq that the feed, the inbox or the open timeline has: catch-up reads after it. */
  private lowestSeq(roomId: string): number | null {
    const entry = this.inbox().find((e) => e.room_id === roomId);
    const room = this.rooms.get(roomId);
    const known = [
      this.feed(roomId).order.last ?? undefined,
      entry?.last_seq,
      room?.timeline.started ? room.timeline.lastSeq : undefined,
    ].filter((seq): seq is number => seq !== undefined);
    return known.length ? Math.min(...known) : null;
  }

  /** A gap that stays open for `GAP_WAIT_MS` (longer after failed attempts) is filled from the log. */
  private armGap(roomId: string): void {
    const feed = this.feed(roomId);
    clearTimeout(feed.timer ?? undefined);
    feed.timer = null;
    const since = feed.order.gapSince();
    if (since === null || feed.catching) {
      return; // a catch-up under way arms it again when it ends
    }
    const wait = GAP_WAIT_MS * Math.min(2 ** feed.failures, MAX_BACKOFF);
    feed.timer = setTimeout(
      () => {
        feed.timer = null;
        if (feed.order.gapSince() !== null) {
          void this.catchUp(roomId);
        }
      },
      Math.max(0, since + wait - Date.now()),
    );
  }

  private feed(roomId: string): Feed {
    let feed = this.feeds.get(roomId);
    if (!feed) {
      feed = new Feed();
      this.feeds.set(roomId, feed);
    }
    return feed;
  }

  private onAck(frame: { client_id: string; room_id: string; seq: number }): void {
    this.forget(frame.client_id);
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
              void this.catchUp(room.id);
            }
          }, 3000),
        );
      }
    }
  }

  private onError(frame: {
    code: string;
    message: string;
    client_id: string;
    retry_after_ms?: number;
    limit?: string;
  }): void {
    if (frame.code === 'rate_limited') {
      return this.onRateLimited(frame.client_id, frame.retry_after_ms ?? 1000, frame.limit || FRAMES_BUDGET);
    }
    this.forget(frame.client_id);
    for (const room of this.rooms.values()) {
      if (frame.client_id && room.timeline.fail(frame.client_id, frame.message)) {
        clearTimeout(room.timers.get(frame.client_id));
        room.redraw();
        return;
      }
    }
    this.notice.set(frame.message);
  }

  /** Over a rate limit: what draws on that budget waits out the pause, then the refused frame
   * goes again (a typing signal or a ping, which carry no client id, are not worth sending late). */
  private onRateLimited(clientId: string, waitMs: number, budget: string): void {
    this.pace.hold(budget, waitMs);
    for (const room of this.rooms.values()) {
      if (clientId && room.timeline.pending.get(clientId)?.status === 'sending') {
        this.transmit(room, clientId); // still "sending": it goes when the pause is over
        return;
      }
    }
    this.resend(clientId);
  }

  /** Sends a frame that carries a client id and keeps it until its ack; false when offline. */
  private sendTracked(frame: TrackedFrame): boolean {
    if (!this.socket.isOnline()) {
      return false;
    }
    this.unacked.set(frame.client_id, { frame, timer: null });
    this.resend(frame.client_id);
    return true;
  }

  /** An unacknowledged frame, now or when its budget's pause is over (offline: again on reconnect). */
  private resend(clientId: string): void {
    const tracked = this.unacked.get(clientId);
    if (!tracked) {
      return;
    }
    clearTimeout(tracked.timer ?? undefined);
    const left = this.pace.leftForFrame(tracked.frame.action);
    if (left) {
      tracked.timer = setTimeout(() => this.resend(clientId), left);
      return;
    }
    // Offline (now, or when its time is up): it stays, and goes again when the socket is back.
    tracked.timer = this.socket.send(tracked.frame)
      ? setTimeout(() => this.socket.isOnline() && this.forget(clientId), SEND_TIMEOUT_MS)
      : null;
  }

  private forget(clientId: string): void {
    clearTimeout(this.unacked.get(clientId)?.timer ?? undefined);
    this.unacked.delete(clientId);
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
      await this.catchUp(room.id);
      this.place(room.id);
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
    const left = this.pace.leftForFrame('send');
    if (left) {
      clearTimeout(room.timers.get(clientId));
      room.timers.set(
        clientId,
        setTimeout(() => {
          room.timers.delete(clientId);
          this.transmit(room, clientId);
        }, left),
      );
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

  /**
   * The inbox follows the room events, which come in seq order: preview, activity, and unread
   * counted once per seq. An event the entry already has (its snapshot was newer) changes
   * nothing; one past a gap means the entry is behind what was applied: the log fills it.
   */
  private updateInbox(event: RoomEvent): void {
    const entry = this.inbox().find((e) => e.room_id === event.room_id);
    const me = this.me();
    if (!entry) {
      this.reloadInboxSoon();
      return;
    }
    if (event.seq <= entry.last_seq) {
      return;
    }
    if (event.seq > entry.last_seq + 1) {
      void this.catchUp(event.room_id);
      return;
    }
    if (event.type === 'user.left' && event.data['user_id'] === me) {
      this.reloadInboxSoon();
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
 * A reloaded inbox entry, unless this tab has already applied events that its snapshot had not
 * seen (the answer was on its way while they arrived): then what the tab has, and the reader's
 * marker from whichever is further.
 */
function fresher(server: InboxEntry, local: InboxEntry | undefined): InboxEntry {
  if (!local || local.last_seq <= server.last_seq) {
    return server;
  }
  const readSeq = Math.max(local.read_seq, server.read_seq);
  const allRead = readSeq >= (local.last_message?.seq ?? 0);
  return {
    ...server,
    last_seq: local.last_seq,
    last_activity: local.last_activity,
    last_message: local.last_message,
    read_seq: readSeq,
    unread: allRead ? 0 : local.unread,
  };
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
