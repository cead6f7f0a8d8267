import { TestBed } from '@angular/core/testing';
import { PaceService, retryAfterMs } from './pace.service';

describe('PaceService', () => {
  let pace: PaceService;

  beforeEach(() => {
    vi.useFakeTimers();
    pace = TestBed.inject(PaceService);
  });

  afterEach(() => vi.useRealTimers());

  it('holds for as long as the server asked, tells the user, and lets go afterwards', async () => {
    pace.hold(2500);
    expect(pace.left()).toBe(2500);
    expect(pace.notice()).toContain('Waiting 3 s');
    await vi.advanceTimersByTimeAsync(2500);
    expect(pace.left()).toBe(0);
    expect(pace.notice()).toBe('');
  });

  it('keeps the longer of two holds', async () => {
    pace.hold(3000);
    pace.hold(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(pace.left()).toBe(2000);
    expect(pace.notice()).not.toBe('');
  });

  it('resolves a wait when the hold is over', async () => {
    pace.hold(1000);
    let done = false;
    void pace.wait().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('reads the wait from the body, else from Retry-After, else a second', () => {
    expect(retryAfterMs({ error: { code: 'rate_limited', retry_after_ms: 1234 } }, '2')).toBe(1234);
    expect(retryAfterMs({ error: { code: 'rate_limited' } }, '2')).toBe(2000);
    expect(retryAfterMs(null, null)).toBe(1000);
  });
});
