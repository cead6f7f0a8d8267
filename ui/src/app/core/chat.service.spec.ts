import { TestBed } from '@angular/core/testing';
import { signal } from '@angular/core';
import { Subject } from 'rxjs';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { CATCH_UP_PAGE, ChatService, SEND_TIMEOUT_MS } from './chat.service';
import { InboxEntry, MessageRow, RoomEvent, ServerFrame } from './models';
import { GAP_WAIT_MS } from './sequencer';
import { SocketService } from './socket.service';

/** The room's log on the server: what `GET /rooms/{id}/events?after=` reads. */
class Server {
  log: RoomEvent[] = [];

  say(actor: string, text: string, clientId = ''): RoomEvent {
    return this.append('message.created', actor, { text, client_id: clientId, attachments: [] }, text);
  }

  /** The next event of the log, with the `preview` the server puts on message events (none: an older server). */
  append(type: string, actor: string, data: Record<string, any>, preview?: string): RoomEvent {
    const seq = this.log.length + 1;
    const event: RoomEvent = {
      type,
      room_id: 'r1',
      seq,
      actor,
      at: `2026-11-25T06:${String(Math.floor(seq / 60)).padStart(2, '0')}:${String(seq % 60).padStart(2, '0')}.000Z`,
      event_id: `e${seq}`,
      data: { n: seq, ...data },
      ...(preview === undefined ? {} : { preview }),
    };
    this.log.push(event);
    return event;
  }

  rows(): MessageRow[] {
    return this.log
      .filter((e) => e.type === 'message.created')
      .map((e) => ({ room_id: 'r1', seq: e.seq, author: e.actor, text: e.data['text'], at: e.at, deleted: false }))
      .reverse();
  }
}

class FakeSocket {
  readonly frames = new Subject<ServerFrame>();
  readonly opened = new Subject<{ reconnect: boolean }>();
  readonly status = signal<'online' | 'offline'>('online');
  sent: any[] = [];
  start(): void {}
  stop(): void {}
  isOnline(): boolean {
    return this.status() === 'online';
  }
  send(frame: object): boolean {
    if (this.status() !== 'online') {
      return false;
    }
    this.sent.push(frame);
    return true;
  }
}

/** A deterministic shuffle (mulberry32 as the source), so a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The frames shuffled, with every other one delivered twice (at least once, as the bus does). */
function disordered<T>(frames: T[], seed: number): T[] {
  return shuffled([...frames, ...frames.filter((_, i) => i % 2 === 0)], seed);
}

interface Disorder {
  name: string;
  order: (frames: RoomEvent[]) => RoomEvent[];
  /** Time between two frames: all of them stay well within the gap wait. */
  spacing?: number;
  /** The index of a frame that never comes (only the log has it). */
  lost?: number;
}

const DISORDERS: Disorder[] = [
  { name: 'in order', order: (f) => f },
  { name: 'reversed', order: (f) => [...f].reverse() },
  { name: 'each pair swapped', order: (f) => f.map((_, i) => f[i % 2 ? i - 1 : Math.min(i + 1, f.length - 1)]) },
  { name: 'everything twice, the copies first and reversed', order: (f) => [...[...f].reverse(), ...f] },
  ...[1, 2, 3, 4, 5].map((seed) => ({ name: `shuffled with duplicates (seed ${seed})`, order: (f: RoomEvent[]) => disordered(f, seed) })),
  { name: 'shuffled with duplicates, 60 ms apart', order: (f) => disordered(f, 6), spacing: 60 },
  { name: 'reversed, 100 ms apart', order: (f) => [...f].reverse(), spacing: 100 },
  { name: 'shuffled, one lost for good', order: (f) => disordered(f, 7), lost: 4 },
  { name: 'reversed, the first lost for good', order: (f) => [...f].reverse(), lost: 0 },
  { name: 'in order, one lost for good', order: (f) => f, lost: 6 },
];

describe('ChatService', () => {
  let chat: ChatService;
  let server: Server;
  let socket: FakeSocket;
  let eventCalls: number[];
  let inbox: InboxEntry[];

  const entry = (unread = 0): InboxEntry => ({
    room_id: 'r1',
    kind: 'dm',
    name: '',
    peer: 'alice',
    last_seq: server.log.length,
    last_activity: server.log.at(-1)?.at ?? '',
    last_message: null,
    read_seq: 0,
    unread,
  });
  const texts = () =>
    chat.room('r1')!.items().map((i) => (i.kind === 'message' ? i.message.text : `pending:${i.pending.text}`));
  const settle = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    vi.useFakeTimers();
    server = new Server();
    socket = new FakeSocket();
    eventCalls = [];
    inbox = [];
    const api: Partial<ApiService> = {
      inbox: async () => ({ rooms: inbox }),
      room: async () => ({
        room_id: 'r1', kind: 'dm', name: '', seq: server.log.length, member_count: 2,
        members: ['alice', 'bob'], last_activity: null,
      }),
      history: async (_id, before, limit) => ({
        messages: server.rows().filter((r) => before === null || r.seq < before).slice(0, limit),
      }),
      events: async (_id, after) => {
        eventCalls.push(after);
        return { events: server.log.filter((e) => e.seq > after).slice(0, CATCH_UP_PAGE) };
      },
    };
    TestBed.configureTestingModule({
      providers: [
        { provide: ApiService, useValue: api },
        { provide: SocketService, useValue: socket },
        { provide: AuthService, useValue: { username: () => 'bob' } },
      ],
    });
    chat = TestBed.inject(ChatService);
  });

  afterEach(() => {
    chat.stop();
    vi.useRealTimers();
  });

  it('opens a room with its latest page, then catches up from the newest seq on that page', async () => {
    server.say('alice', 'one');
    server.say('alice', 'two');
    chat.open('r1');
    await settle();
    expect(texts()).toEqual(['one', 'two']);
    expect(eventCalls).toEqual([2]);
  });

  it('loads older history a page at a time until the start of the room', async () => {
    for (let i = 1; i <= 35; i++) {
      server.say('alice', `m${i}`);
    }
    chat.open('r1');
    await settle();
    expect(texts()).toHaveLength(30);
    expect(texts()[0]).toBe('m6');
    expect(chat.room('r1')!.hasOlder()).toBe(true);
    await chat.loadOlder('r1');
    expect(texts()).toEqual(Array.from({ length: 35 }, (_, i) => `m${i + 1}`));
    expect(chat.room('r1')!.hasOlder()).toBe(false);
  });

  it('keeps a page to its size even when the server sends more, so older history still pages in', async () => {
    for (let i = 1; i <= 40; i++) {
      server.say('alice', `m${i}`);
    }
    const api = TestBed.inject(ApiService);
    const history = api.history;
    api.history = async (id, before) => history(id, before, 50); // the limit got lost on the way
    chat.open('r1');
    await settle();
    expect(texts()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i + 11}`));
    expect(chat.room('r1')!.hasOlder()).toBe(true);
  });

  it('on reconnect catches up each open room from its last seq: what was missed appears once, in order', async () => {
    server.say('alice', 'before');
    chat.start();
    chat.open('r1');
    await settle();
    socket.status.set('offline');
    server.say('alice', 'missed 1');
    server.say('alice', 'missed 2');
    server.say('alice', 'missed 3');
    socket.status.set('online');
    socket.opened.next({ reconnect: true });
    await settle();
    expect(eventCalls.at(-1)).toBe(1);
    // the socket may still deliver one of them late: it is not shown twice
    socket.frames.next(server.log[2]);
    expect(texts()).toEqual(['before', 'missed 1', 'missed 2', 'missed 3']);
  });

  it('fills a gap in live delivery from the log before showing what came after it', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    server.say('alice', 'one');
    const two = server.say('alice', 'two');
    const three = server.say('alice', 'three');
    socket.frames.next(three); // one went missing, two comes late
    socket.frames.next(two);
    await vi.advanceTimersByTimeAsync(GAP_WAIT_MS - 1);
    expect(texts()).toEqual([]); // still held: one may only be late
    await vi.advanceTimersByTimeAsync(1);
    expect(texts()).toEqual(['one', 'two', 'three']);
    expect(eventCalls).toEqual([0, 0]); // the load's catch-up, then the gap's
  });

  it('catches up page by page when more than a page of events was missed', async () => {
    server.say('alice', 'first');
    chat.start();
    chat.open('r1');
    await settle();
    for (let i = 0; i < CATCH_UP_PAGE + 5; i++) {
      server.say('alice', `m${i}`);
    }
    socket.opened.next({ reconnect: true });
    await settle();
    expect(eventCalls.slice(-2)).toEqual([1, 1 + CATCH_UP_PAGE]); // a short page ends it
    expect(texts()).toHaveLength(CATCH_UP_PAGE + 6);
    expect(texts().at(-1)).toBe(`m${CATCH_UP_PAGE + 4}`);
  });

  it('shows an own message as pending, confirms it by its ack and its event, and never twice', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    chat.send('r1', 'hello');
    const frame = socket.sent.at(-1);
    expect(frame).toMatchObject({ action: 'send', room_id: 'r1', text: 'hello' });
    expect(texts()).toEqual(['pending:hello']);
    socket.frames.next({ type: 'ack', client_id: frame.client_id, room_id: 'r1', seq: 1, duplicate: false });
    expect(chat.room('r1')!.timeline.pending.get(frame.client_id)?.status).toBe('sent');
    socket.frames.next(server.say('bob', 'hello', frame.client_id));
    expect(texts()).toEqual(['hello']);
  });

  it('keeps a send refused as rate_limited sending, and sends it again once the pause is over', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    chat.send('r1', 'too fast');
    const first = socket.sent.at(-1);
    socket.frames.next({
      type: 'error', code: 'rate_limited', message: 'too many requests', client_id: first.client_id, retry_after_ms: 2000,
      limit: 'messages',
    });
    expect(chat.room('r1')!.timeline.pending.get(first.client_id)?.status).toBe('sending');
    chat.send('r1', 'queued behind it');
    chat.typing('r1');
    const during = socket.sent.length;
    await vi.advanceTimersByTimeAsync(1999);
    expect(socket.sent.length).toBe(during); // nothing goes out during the pause, typing neither
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sent.slice(during)).toEqual([
      first,
      expect.objectContaining({ action: 'send', text: 'queued behind it' }),
    ]);
    expect(texts()).toEqual(['pending:too fast', 'pending:queued behind it']);
  });

  it('sends an edit refused as rate_limited again after the pause, and forgets it once acknowledged', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    await chat.edit('r1', 1, 'fixed');
    const edit = socket.sent.at(-1);
    socket.frames.next({
      type: 'error', code: 'rate_limited', message: 'slow down', client_id: edit.client_id, retry_after_ms: 500, limit: 'messages',
    });
    socket.opened.next({ reconnect: true }); // a reconnect during the pause sends nothing twice
    await settle();
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.sent.filter((f) => f.client_id === edit.client_id)).toHaveLength(2);
    expect(chat.notice()).toBe('');
    socket.frames.next({ type: 'ack', client_id: edit.client_id, room_id: 'r1', seq: 1, duplicate: false });
    socket.opened.next({ reconnect: true });
    await settle();
    expect(socket.sent.filter((f) => f.client_id === edit.client_id)).toHaveLength(2);
  });

  it('forgets an edit nobody answers, and every unanswered frame on sign-out', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    await chat.edit('r1', 1, 'unanswered');
    await vi.advanceTimersByTimeAsync(SEND_TIMEOUT_MS);
    await chat.remove('r1', 1);
    chat.stop();
    const sent = socket.sent.length;
    chat.start();
    socket.opened.next({ reconnect: true });
    await settle();
    expect(socket.sent.slice(sent).filter((f) => f.action === 'edit' || f.action === 'delete')).toEqual([]);
  });

  it('keeps an edit sent just before the socket dropped until it is back, however long that takes', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    await chat.edit('r1', 1, 'made before the drop');
    const edit = socket.sent.at(-1);
    socket.status.set('offline');
    await vi.advanceTimersByTimeAsync(3 * SEND_TIMEOUT_MS);
    socket.status.set('online');
    socket.opened.next({ reconnect: true });
    await settle();
    expect(socket.sent.filter((f) => f.client_id === edit.client_id)).toHaveLength(2);
  });

  it('keeps sending messages while typing signals are refused', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    socket.frames.next({ type: 'error', code: 'rate_limited', message: 'typing', client_id: '', retry_after_ms: 2000, limit: 'typing' });
    chat.typing('r1');
    chat.send('r1', 'still goes');
    expect(socket.sent.at(-1)).toMatchObject({ action: 'send', text: 'still goes' });
    expect(socket.sent.some((f) => f.action === 'typing')).toBe(false);
  });

  it('marks a refused send as failed and retries it with the same client id', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    chat.send('r1', 'refused');
    const first = socket.sent.at(-1);
    socket.frames.next({ type: 'error', code: 'busy', message: 'try again', client_id: first.client_id });
    expect(chat.room('r1')!.timeline.pending.get(first.client_id)).toMatchObject({ status: 'failed', error: 'try again' });
    chat.retry('r1', first.client_id);
    expect(socket.sent.at(-1)).toEqual(first);
  });

  it('fails a send that gets no answer, and sends one written offline when the socket is back', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    chat.send('r1', 'lost');
    await vi.advanceTimersByTimeAsync(SEND_TIMEOUT_MS);
    expect(texts()).toEqual(['pending:lost']);
    expect(chat.room('r1')!.items()[0]).toMatchObject({ pending: { status: 'failed' } });
    socket.status.set('offline');
    chat.send('r1', 'written offline');
    const sentBefore = socket.sent.length;
    socket.status.set('online');
    socket.opened.next({ reconnect: true });
    await settle();
    expect(socket.sent.slice(sentBefore)).toEqual([
      expect.objectContaining({ action: 'send', text: 'written offline' }),
    ]);
  });

  it('counts unread messages live in the inbox, once per seq, and not the user’s own', async () => {
    inbox = [entry(0)];
    chat.start();
    await settle();
    socket.frames.next(server.say('alice', 'one'));
    socket.frames.next(server.log[0]); // delivered twice
    socket.frames.next(server.say('alice', 'two'));
    expect(chat.inbox()[0].unread).toBe(2);
    expect(chat.inbox()[0].last_message?.preview).toBe('two');
    socket.frames.next(server.say('bob', 'my answer'));
    expect(chat.inbox()[0].unread).toBe(0);
  });

  it('shows the server’s preview of a new message in the inbox, never a cut of its own', async () => {
    inbox = [entry(0)];
    chat.start();
    await settle();
    const long = 'abc'.repeat(100);
    socket.frames.next(server.append('message.created', 'alice', { text: long, attachments: [] }, 'abc…'));
    expect(chat.inbox()[0].last_message).toEqual({ seq: 1, author: 'alice', preview: 'abc…', deleted: false });
    const files = [
      { key: 'k1', name: 'photo.png', content_type: 'image/png', size: 1 },
      { key: 'k2', name: 'notes.pdf', content_type: 'application/pdf', size: 2 },
    ];
    const attached = server.append('message.created', 'alice', { text: '', attachments: files }, 'photo.png, notes.pdf');
    socket.frames.next(attached);
    expect(chat.inbox()[0].last_message?.preview).toBe('photo.png, notes.pdf');
  });

  it('shows the server’s preview of an edit of the latest message, and a deleted one as deleted', async () => {
    inbox = [entry(0)];
    chat.start();
    await settle();
    socket.frames.next(server.say('alice', 'first'));
    const edited = 'edited '.repeat(40);
    socket.frames.next(server.append('message.updated', 'alice', { seq: 1, text: edited, latest: true }, 'edited…'));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 1, preview: 'edited…', deleted: false });
    socket.frames.next(server.say('alice', 'second'));
    socket.frames.next(server.append('message.updated', 'alice', { seq: 1, text: 'again', latest: false }, 'again'));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 3, preview: 'second' }); // not the latest: no change
    socket.frames.next(server.append('message.deleted', 'alice', { seq: 3, latest: true }));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 3, preview: '', deleted: true });
  });

  it('shows no preview rather than one of its own when an older server sends none', async () => {
    inbox = [entry(0)];
    chat.start();
    await settle();
    socket.frames.next(server.append('message.created', 'alice', { text: 'hello', attachments: [] }));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 1, author: 'alice', preview: '' });
    const file = { key: 'k1', name: 'photo.png', content_type: 'image/png', size: 1 };
    socket.frames.next(server.append('message.created', 'alice', { text: '', attachments: [file] }));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 2, preview: '' });
    socket.frames.next(server.say('alice', 'third'));
    socket.frames.next(server.append('message.updated', 'alice', { seq: 3, text: 'changed', latest: true }));
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 3, preview: '' });
  });

  it('takes the preview from the events a catch-up reads from the log too', async () => {
    server.say('alice', 'before');
    inbox = [entry(0)];
    chat.start();
    chat.open('r1');
    await settle();
    socket.status.set('offline');
    server.append('message.created', 'alice', { text: 'x'.repeat(200), attachments: [] }, 'xxx…');
    socket.status.set('online');
    socket.opened.next({ reconnect: true });
    await settle();
    expect(chat.inbox()[0].last_message).toMatchObject({ seq: 2, preview: 'xxx…' });
  });

  it('asks for a room’s info and its latest page together when it opens', async () => {
    const api = TestBed.inject(ApiService);
    const asked: string[] = [];
    const room = api.room;
    const history = api.history;
    let answerRoom = () => {};
    api.room = (id) => {
      asked.push('room');
      return new Promise((resolve) => (answerRoom = () => resolve(room(id))));
    };
    api.history = (id, before, limit) => {
      asked.push('history');
      return history(id, before, limit);
    };
    server.say('alice', 'one');
    chat.open('r1');
    await settle();
    expect(asked).toEqual(['room', 'history']); // the page is not waiting for the info
    answerRoom();
    await settle();
    expect(texts()).toEqual(['one']);
  });

  it('moves a room with a new message to the top of the inbox', async () => {
    const older = { ...entry(0), room_id: 'r0', last_activity: '2026-11-25T05:00:00.000Z', last_seq: 0 };
    const newer = { ...entry(0), room_id: 'r2', last_activity: '2026-11-25T05:30:00.000Z', last_seq: 0 };
    inbox = [newer, older];
    chat.start();
    await settle();
    expect(chat.inbox().map((e) => e.room_id)).toEqual(['r2', 'r0']);
    socket.frames.next({ ...server.say('alice', 'wake up'), room_id: 'r0' });
    expect(chat.inbox().map((e) => e.room_id)).toEqual(['r0', 'r2']);
  });

  it('clears the unread badge and moves the read marker when the user reads the room', async () => {
    server.say('alice', 'one');
    server.say('alice', 'two');
    inbox = [entry(2)];
    chat.start();
    await settle();
    chat.activeRoomId.set('r1');
    chat.open('r1');
    await settle();
    chat.setReading('r1', true);
    expect(socket.sent).toContainEqual(expect.objectContaining({ action: 'read', room_id: 'r1', seq: 2 }));
    expect(chat.inbox()[0].unread).toBe(0);
    expect(chat.room('r1')!.firstUnreadSeq()).toBe(1);
    socket.frames.next(server.say('alice', 'three')); // arrives while reading
    expect(socket.sent).toContainEqual(expect.objectContaining({ action: 'read', room_id: 'r1', seq: 3 }));
    expect(chat.inbox()[0].unread).toBe(0);
  });

  it('shows who is typing for a few seconds, and stops when their message arrives', async () => {
    chat.start();
    chat.open('r1');
    await settle();
    socket.frames.next({ type: 'typing', room_id: 'r1', user_id: 'alice' });
    expect(chat.room('r1')!.typing()).toEqual(['alice']);
    socket.frames.next(server.say('alice', 'done typing'));
    expect(chat.room('r1')!.typing()).toEqual([]);
    socket.frames.next({ type: 'typing', room_id: 'r1', user_id: 'alice' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(chat.room('r1')!.typing()).toEqual([]);
  });
  describe('under disorder (the bus delivers unordered and at least once)', () => {
    /** After "before" (seq 1): joins, edits of the latest and not, an own message, a deletion. */
    function script(): RoomEvent[] {
      const frames = [server.say('alice', 'a1'), server.say('alice', 'a2')];
      frames.push(server.append('user.joined', 'alice', { user_id: 'carol', invited_by: 'alice', joined_n: 3 }));
      const c1 = server.say('carol', 'c1');
      frames.push(c1, server.append('message.updated', 'carol', { seq: c1.seq, text: 'c1 edited', latest: true }, 'c1 edited'));
      frames.push(server.say('bob', 'mine'));
      const a3 = server.say('alice', 'a3');
      const c2 = server.say('carol', 'c2');
      frames.push(a3, c2, server.append('message.deleted', 'carol', { seq: c2.seq, latest: true }));
      frames.push(server.say('alice', 'a4'));
      frames.push(server.append('message.updated', 'alice', { seq: a3.seq, text: 'a3 edited', latest: false }, 'a3 edited'));
      return frames;
    }

    /** What in-order delivery ends with: three unread after the user's own message. */
    const expectInbox = () =>
      expect(chat.inbox()[0]).toMatchObject({
        last_seq: 12,
        last_activity: server.log[10].at,
        last_message: { seq: 11, author: 'alice', preview: 'a4', deleted: false },
        unread: 3,
      });
    const IN_ORDER_TIMELINE = ['before', 'a1', 'a2', 'c1 edited', 'mine', 'a3 edited', '', 'a4'];

    async function deliver(disorder: Disorder, frames: RoomEvent[]): Promise<void> {
      const lost = disorder.lost === undefined ? null : frames[disorder.lost];
      for (const frame of disorder.order(frames)) {
        if (frame !== lost) {
          socket.frames.next(frame);
          await vi.advanceTimersByTimeAsync(disorder.spacing ?? 0);
        }
      }
    }

    for (const disorder of DISORDERS) {
      it(`ends an open room and its inbox entry as in-order delivery does: ${disorder.name}`, async () => {
        server.say('alice', 'before');
        inbox = [entry(0)];
        chat.start();
        chat.open('r1');
        await settle();
        expect(eventCalls).toEqual([1]); // the room's load
        const frames = script();
        await deliver(disorder, frames);
        await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 4);
        expect(texts()).toEqual(IN_ORDER_TIMELINE);
        expect(chat.room('r1')!.timeline.lastSeq).toBe(12);
        expectInbox();
        // a lost frame costs one read of the log, from just before it; a swap costs nothing
        const lost = disorder.lost === undefined ? [] : [frames[disorder.lost].seq - 1];
        expect(eventCalls).toEqual([1, ...lost]);
      });

      it(`keeps the unread count and preview of a room that is not open: ${disorder.name}`, async () => {
        server.say('alice', 'before');
        inbox = [entry(1)];
        chat.start();
        await settle();
        const frames = script();
        await deliver(disorder, frames);
        await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 4);
        expectInbox();
        expect(chat.room('r1')).toBeUndefined();
        expect(eventCalls).toEqual(disorder.lost === undefined ? [] : [frames[disorder.lost].seq - 1]);
      });
    }

    it('applies nothing past a gap before the wait is over, and nothing twice after', async () => {
      server.say('alice', 'before');
      inbox = [entry(0)];
      chat.start();
      chat.open('r1');
      await settle();
      const frames = script();
      socket.frames.next(frames[2]);
      socket.frames.next(frames[1]);
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS - 1);
      expect(texts()).toEqual(['before']);
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 1, unread: 0 });
      socket.frames.next(frames[0]); // late, yet within the wait
      expect(texts()).toEqual(['before', 'a1', 'a2']);
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 4, unread: 2 });
      frames.slice(0, 3).forEach((frame) => socket.frames.next(frame));
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 4);
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 4, unread: 2 });
      expect(eventCalls).toEqual([1]);
    });

    it('times a gap from when it was first seen, not from the latest frame behind it', async () => {
      inbox = [entry(0)];
      chat.start();
      await settle();
      const frames = [1, 2, 3, 4].map((i) => server.say('alice', `m${i}`));
      socket.frames.next(frames[3]); // 1, 2, 3 missing
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS / 2);
      socket.frames.next(frames[0]);
      socket.frames.next(frames[2]); // 2 still missing
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS / 2 - 1);
      expect(eventCalls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(eventCalls).toEqual([1]);
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 4, unread: 4 });
    });

    it('holds the frames of a room the inbox has not answered for yet, then places them by its last_seq', async () => {
      server.say('alice', 'one');
      server.say('alice', 'two');
      const snapshot = [entry(1)]; // the answer, as the server read it before three and four
      const api = TestBed.inject(ApiService);
      let answer = (_: { rooms: InboxEntry[] }) => {};
      api.inbox = () => new Promise((resolve) => (answer = resolve));
      chat.start();
      const three = server.say('alice', 'three');
      const four = server.say('alice', 'four');
      socket.frames.next(four);
      socket.frames.next(three);
      socket.frames.next(four);
      answer({ rooms: snapshot });
      await settle();
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 4, unread: 3, last_message: { seq: 4, preview: 'four' } });
      expect(eventCalls).toEqual([]);
    });

    it('keeps what it applied when a reload answers with a snapshot older than that', async () => {
      inbox = [entry(0)];
      chat.start();
      await settle();
      const snapshot = [entry(0)];
      const api = TestBed.inject(ApiService);
      let answer = (_: { rooms: InboxEntry[] }) => {};
      api.inbox = () => new Promise((resolve) => (answer = resolve));
      socket.opened.next({ reconnect: true });
      socket.frames.next(server.say('alice', 'one')); // while the reload is on its way
      answer({ rooms: snapshot });
      await settle();
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 1, unread: 1 });
      socket.frames.next(server.say('alice', 'two'));
      expect(chat.inbox()[0]).toMatchObject({ last_seq: 2, unread: 2, last_message: { seq: 2 } });
      expect(eventCalls).toEqual([]);
    });

    it('orders a new room from its creation before the inbox knows it, and fills a lasting gap from the log', async () => {
      TestBed.inject(ApiService).inbox = () => new Promise(() => {}); // no answer yet
      chat.start();
      const created = server.append('room.created', 'alice', { room_id: 'r1', kind: 'group', name: 'G', members: ['alice', 'bob'] });
      const [two, three] = [server.say('alice', 'two'), server.say('alice', 'three')];
      server.say('alice', 'four'); // lost
      const five = server.say('alice', 'five');
      [three, created, five, two, three].forEach((frame) => socket.frames.next(frame));
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS - 1);
      expect(eventCalls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(eventCalls).toEqual([3]); // right after what was in
    });

    it('takes its own joining as where a room starts for it; before that it only holds', async () => {
      TestBed.inject(ApiService).inbox = () => new Promise(() => {});
      chat.start();
      server.append('room.created', 'alice', { room_id: 'r1', kind: 'group', name: 'G', members: ['alice', 'carol'] });
      server.say('alice', 'before bob');
      const joined = server.append('user.joined', 'alice', { user_id: 'bob', invited_by: 'alice', joined_n: 1 });
      server.say('alice', 'lost');
      const after = server.say('alice', 'after');
      socket.frames.next(after);
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
      expect(eventCalls).toEqual([]); // nothing says where the room stands: no gap to fill
      socket.frames.next(joined);
      await vi.advanceTimersByTimeAsync(0);
      expect(eventCalls).toEqual([3]); // the gap at 4 has been open since 5 came
    });

    it('forgets the gap of a room that left the inbox (the user left it elsewhere)', async () => {
      inbox = [entry(0)];
      chat.start();
      await settle();
      const frames = [1, 2, 3].map((i) => server.say('alice', `m${i}`));
      socket.frames.next(frames[2]); // 1 and 2 missing
      inbox = [];
      socket.opened.next({ reconnect: true }); // the inbox is read again
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 4);
      expect(chat.inbox()).toEqual([]);
      expect(eventCalls).toEqual([]);
    });

    it('leaves read markers and typing signals out of the order', async () => {
      server.say('alice', 'one');
      server.say('alice', 'two');
      inbox = [entry(2)];
      chat.start();
      chat.open('r1');
      await settle();
      socket.frames.next({ ...server.log[1], type: 'read.marked', user_id: 'bob', data: { room_id: 'r1', seq: 2, n: 2 } });
      expect(chat.inbox()[0].unread).toBe(0);
      socket.frames.next({ type: 'typing', room_id: 'r1', user_id: 'alice' });
      expect(chat.room('r1')!.typing()).toEqual(['alice']);
      await vi.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
      expect(eventCalls).toEqual([2]);
    });
  });
});
