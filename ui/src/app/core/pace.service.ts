import { Injectable, signal } from '@angular/core';

/**
 * The server's per-user rate limits as this client meets them. A `rate_limited` refusal (HTTP 429
 * or an error frame) says how long to wait; until then nothing more is sent (a send waits, a typing
 * signal is dropped), and the user is told why.
 */
@Injectable({ providedIn: 'root' })
export class PaceService {
  /** What the user is told while a hold lasts ('' when there is none). */
  readonly notice = signal('');
  private until = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** The server asked for a pause of `ms`: nothing goes out before it is over. */
  hold(ms: number): void {
    const until = Date.now() + Math.max(0, ms);
    if (until <= this.until) {
      return;
    }
    this.until = until;
    this.notice.set(
      `You are sending faster than the server allows. Waiting ${Math.ceil(ms / 1000)} s before sending more.`,
    );
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.notice.set('');
    }, until - Date.now());
  }

  /** Milliseconds left of the current hold (0: none). */
  left(): number {
    return Math.max(0, this.until - Date.now());
  }

  /** Resolves once the current hold is over. */
  wait(): Promise<void> {
    const left = this.left();
    return left > 0 ? new Promise((resolve) => setTimeout(resolve, left)) : Promise.resolve();
  }
}

/** How long a `rate_limited` refusal asks to wait: its `retry_after_ms`, else the Retry-After header. */
export function retryAfterMs(body: unknown, header: string | null): number {
  const fromBody = (body as { error?: { retry_after_ms?: unknown } } | null)?.error?.retry_after_ms;
  if (typeof fromBody === 'number' && fromBody >= 0) {
    return fromBody;
  }
  const seconds = header === null ? NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
}
