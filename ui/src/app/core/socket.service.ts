import { Injectable, InjectionToken, OnDestroy, inject, signal } from '@angular/core';
import { Observable, Subject } from 'rxjs';
import { AuthService } from './auth.service';
import { ConfigService } from './config';
import { ServerFrame } from './models';

/** The part of the browser's WebSocket this client uses (a fake one in tests). */
export interface SocketLike {
  readyState: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export const SOCKET_FACTORY = new InjectionToken<(url: string, protocols: string[]) => SocketLike>(
  'socket factory',
  { providedIn: 'root', factory: () => (url: string, protocols: string[]) => new WebSocket(url, protocols) },
);

/** The chat's own subprotocol; the token goes as a second one, `token.<JWT>`, so that it is never
 * in the URL (which a browser prints when a connection fails, and access logs keep). */
export const SUBPROTOCOL = 'chat.v1';
export const TOKEN_PREFIX = 'token.';

export type SocketStatus = 'idle' | 'connecting' | 'online' | 'offline';

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 15_000;
/** API Gateway closes a connection idle for 10 minutes; a ping every 4 keeps it open. */
export const PING_EVERY_MS = 4 * 60_000;
const OPEN = 1;

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... capped at 15 s, each 50-100 %. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** One WebSocket per tab: connects with the user's token, reconnects with backoff, and tells
 * when it (re)opens so that open rooms can catch up on what they missed. */
@Injectable({ providedIn: 'root' })
export class SocketService implements OnDestroy {
  private readonly config = inject(ConfigService);
  private readonly auth = inject(AuthService);
  private readonly factory = inject(SOCKET_FACTORY);

  private socket: SocketLike | null = null;
  private running = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly frameSubject = new Subject<ServerFrame>();
  private readonly openedSubject = new Subject<{ reconnect: boolean }>();
  private connectedBefore = false;

  readonly status = signal<SocketStatus>('idle');
  /** When the next attempt is due (ms since epoch), for the banner. */
  readonly retryAt = signal<number | null>(null);
  readonly frames: Observable<ServerFrame> = this.frameSubject.asObservable();
  /** Each successful open; `reconnect` is true after the first. */
  readonly opened: Observable<{ reconnect: boolean }> = this.openedSubject.asObservable();

  private readonly wentOffline = () => this.drop();
  private readonly cameOnline = () => this.reconnectNow();

  start(): void {
    if (this.running) {
      return;
    }
    this.running = true;
    globalThis.addEventListener?.('offline', this.wentOffline);
    globalThis.addEventListener?.('online', this.cameOnline);
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.connectedBefore = false;
    globalThis.removeEventListener?.('offline', this.wentOffline);
    globalThis.removeEventListener?.('online', this.cameOnline);
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'signed out');
    this.status.set('idle');
  }

  /** Sends a frame if the socket is open; false when it is not (the caller decides what then). */
  send(frame: object): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) {
      return false;
    }
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  isOnline(): boolean {
    return this.status() === 'online';
  }

  /** Try again at once (the banner's "Retry now", or the browser saying it is back online). */
  reconnectNow(): void {
    if (!this.running || this.status() === 'online' || this.status() === 'connecting') {
      return;
    }
    this.clearTimers();
    void this.connect();
  }

  ngOnDestroy(): void {
    this.stop();
  }

  /** The network went away: close now rather than wait for a timeout, and retry with backoff. */
  private drop(): void {
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.onclose = null;
      socket.close(4000, 'offline');
      this.closed();
    }
  }

  private async connect(): Promise<void> {
    this.retryAt.set(null);
    this.status.set('connecting');
    let token: string;
    try {
      token = await this.auth.freshToken();
    } catch {
      this.closed();
      return;
    }
    if (!this.running) {
      return;
    }
    let socket: SocketLike;
    try {
      socket = this.factory(this.config.get().wsUrl, [SUBPROTOCOL, TOKEN_PREFIX + token]);
    } catch {
      this.closed();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) {
        return;
      }
      this.attempt = 0;
      this.status.set('online');
      this.pingTimer = setInterval(() => this.send({ action: 'ping' }), PING_EVERY_MS);
      const reconnect = this.connectedBefore;
      this.connectedBefore = true;
      this.openedSubject.next({ reconnect });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) {
        return;
      }
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as ServerFrame;
      } catch {
        return;
      }
      this.frameSubject.next(frame);
    };
    socket.onclose = () => {
      if (this.socket === socket) {
        this.socket = null;
        this.closed();
      }
    };
    socket.onerror = () => undefined; // a close event always follows
  }

  private closed(): void {
    this.clearTimers();
    if (!this.running) {
      this.status.set('idle');
      return;
    }
    this.status.set('offline');
    const delay = backoffDelay(this.attempt++);
    this.retryAt.set(Date.now() + delay);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }
}
