import { ConfigService } from './config';
import { SocketLike } from './socket.service';

/** Shared by the specs: a configuration and a WebSocket the test opens, feeds and drops. */
export const TEST_CONFIG = {
  apiUrl: 'http://chat.test/api',
  wsUrl: 'ws://chat.test/ws',
  region: 'us-east-1',
  userPoolId: 'pool',
  userPoolClientId: 'client-1',
  cognitoEndpoint: 'http://chat.test/cognito',
};

export function configure(config: ConfigService): void {
  config.set(TEST_CONFIG);
}

export class FakeSocket implements SocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {
    FakeSocket.made.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.made[FakeSocket.made.length - 1];
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) } as MessageEvent);
  }

  /** The server or the network ends the connection. */
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006 } as CloseEvent);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

/** A JWT whose payload says it expires at `expSeconds` (the signature is not checked here). */
export function jwt(expSeconds: number, extra: object = {}): string {
  const payload = btoa(JSON.stringify({ exp: expSeconds, ...extra }))
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  return `header.${payload}.signature`;
}
