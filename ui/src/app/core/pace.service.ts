import { Injectable, signal } from '@angular/core';

/** Every WebSocket frame draws on this budget besides its own (domain/rate_limits.py). */
export const FRAMES_BUDGET = 'frames';
/** A refused typing signal pauses typing signals only, and is not worth telling anyone. */
export const TYPING_BUDGET = 'typing';

/** The budget each WebSocket action draws on, as the server counts them. */
export const BUDGET_OF: Record<string, string> = {
  send: 'messages',
  edit: 'messages',
  delete: 'messages',
  read: 'read_markers',
  typing: TYPING_BUDGET,
};

/**
 * The server's per-user rate limits as this client meets them. A `rate_limited` refusal (HTTP 429
 * or an error frame) names the budget that ran out and how long to wait; until then nothing more
 * that draws on that budget is sent, and the user is told why (a typing signal excepted).
 */
@Injectable({ providedIn: 'root' })
export class PaceService {
  /** What the user is told while a pause lasts ('' when there is none). */
  readonly notice = signal('');
  private readonly until = new Map<string, number>();
  private noticeUntil = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** The server asked for a pause of `ms` on `budget`. */
  hold(budget: string, ms: number): void {
    const until = Date.now() + Math.max(0, ms);
    if (until <= (this.until.get(budget) ?? 0)) {
      return;
    }
    this.until.set(budget, until);
    if (budget === TYPING_BUDGET || until <= this.noticeUntil) {
      return;
    }
    this.noticeUntil = until;
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

  /** Milliseconds left of the pause on any of `budgets` (0: none). */
  left(...budgets: string[]): number {
    const now = Date.now();
    return Math.max(0, ...budgets.map((budget) => (this.until.get(budget) ?? 0) - now));
  }

  /** Milliseconds before a WebSocket frame of `action` may go. */
  leftForFrame(action: string): number {
    return this.left(FRAMES_BUDGET, BUDGET_OF[action] ?? FRAMES_BUDGET);
  }

  /** Forgets every pause (signing out). */
  clear(): void {
    this.until.clear();
    this.noticeUntil = 0;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.notice.set('');
  }
}

/** A `rate_limited` refusal: how long to wait (its `retry_after_ms`, else the Retry-After header,
 * else a second) and the budget it names. */
export function rateLimit(body: unknown, header: string | null): { waitMs: number; budget: string } {
  const error = (body as { error?: { retry_after_ms?: unknown; limit?: unknown } } | null)?.error;
  const budget = typeof error?.limit === 'string' && error.limit ? error.limit : 'unknown';
  if (typeof error?.retry_after_ms === 'number' && error.retry_after_ms >= 0) {
    return { waitMs: error.retry_after_ms, budget };
  }
  const seconds = header === null ? NaN : Number(header);
  return { waitMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000, budget };
}
