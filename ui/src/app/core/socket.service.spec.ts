import { TestBed } from '@angular/core/testing';
import { AuthService } from './auth.service';
import { ConfigService } from './config';
import { BACKOFF_MAX_MS, SOCKET_FACTORY, SocketService, backoffDelay } from './socket.service';
import { FakeSocket, configure } from './testing';

describe('SocketService', () => {
  let socket: SocketService;
  let tokens: string[];
  let opened: boolean[];
  let frames: unknown[];

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
    tokens = ['token-1', 'token-2', 'token-3', 'token-4'];
    TestBed.configureTestingModule({
      providers: [
        { provide: SOCKET_FACTORY, useValue: (url: string, protocols: string[]) => new FakeSocket(url, protocols) },
        { provide: AuthService, useValue: { freshToken: async () => tokens.shift() } },
      ],
    });
    configure(TestBed.inject(ConfigService));
    socket = TestBed.inject(SocketService);
    opened = [];
    frames = [];
    socket.opened.subscribe(({ reconnect }) => opened.push(reconnect));
    socket.frames.subscribe((frame) => frames.push(frame));
  });

  afterEach(() => {
    socket.stop();
    vi.useRealTimers();
  });

  it('connects with a fresh token offered as a subprotocol, never in the URL, and is online once open', async () => {
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last().url).toBe('ws://chat.test/ws');
    expect(FakeSocket.last().protocols).toEqual(['chat.v1', 'token.token-1']);
    expect(socket.status()).toBe('connecting');
    FakeSocket.last().open();
    expect(socket.status()).toBe('online');
    expect(opened).toEqual([false]);
  });

  it('reconnects after a drop with a growing backoff, with a new token, and says it is a reconnect', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1); // the full delay: 500 ms, then 1000 ms
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.last().open();
    FakeSocket.last().drop();
    expect(socket.status()).toBe('offline');
    await vi.advanceTimersByTimeAsync(499);
    expect(FakeSocket.made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.made).toHaveLength(2);
    expect(FakeSocket.last().protocols).toContain('token.token-2');
    FakeSocket.last().drop(); // refused before it opened: wait longer
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.made).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    FakeSocket.last().open();
    expect(opened).toEqual([false, true]);
    expect(socket.status()).toBe('online');
  });

  it('backs off exponentially with jitter, never beyond the cap', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(30, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelay(30, () => 0)).toBe(BACKOFF_MAX_MS / 2);
  });

  it('passes on the frames the server sends and ignores what is not JSON', async () => {
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.last().open();
    FakeSocket.last().receive({ type: 'pong' });
    FakeSocket.last().receive('not json');
    expect(frames).toEqual([{ type: 'pong' }]);
  });

  it('refuses to send while not connected, and sends JSON once open', async () => {
    expect(socket.send({ action: 'ping' })).toBe(false);
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.send({ action: 'ping' })).toBe(false);
    FakeSocket.last().open();
    expect(socket.send({ action: 'typing', room_id: 'r1' })).toBe(true);
    expect(FakeSocket.last().sent).toEqual([{ action: 'typing', room_id: 'r1' }]);
  });

  it('keeps an idle connection alive with a ping every few minutes', async () => {
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.last().open();
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(FakeSocket.last().sent).toEqual([{ action: 'ping' }]);
  });

  it('closes at once when the browser goes offline and reconnects at once when it is back', async () => {
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.last();
    first.open();
    globalThis.dispatchEvent(new Event('offline'));
    expect(first.closedWith).toBe(4000);
    expect(socket.status()).toBe('offline');
    globalThis.dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.made).toHaveLength(2);
    FakeSocket.last().open();
    expect(opened).toEqual([false, true]);
  });

  it('stops for good on sign-out: no reconnect after the close', async () => {
    socket.start();
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.last().open();
    socket.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(socket.status()).toBe('idle');
  });
});
