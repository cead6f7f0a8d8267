import { TestBed } from '@angular/core/testing';
import { signal } from '@angular/core';
import { Subject } from 'rxjs';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { CATCH_UP_PAGE, ChatService, SEND_TIMEOUT_MS } from './chat.service';
import { InboxEntry, MessageRow, RoomEvent, ServerFrame } from './models';
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
    socket.frames.next(three); // one and two went missing
    socket.frames.next(two);
    await settle();
    expect(texts()).toEqual(['one', 'two', 'three']);
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
    expect(socket.sent).toContainEqual({ action: 'read', room_id: 'r1', seq: 2 });
    expect(chat.inbox()[0].unread).toBe(0);
    expect(chat.room('r1')!.firstUnreadSeq()).toBe(1);
    socket.frames.next(server.say('alice', 'three')); // arrives while reading
    expect(socket.sent).toContainEqual({ action: 'read', room_id: 'r1', seq: 3 });
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
});
