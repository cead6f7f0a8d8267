import { TestBed } from '@angular/core/testing';
import { PaceService, rateLimit } from './pace.service';

describe('PaceService', () => {
  let pace: PaceService;

  beforeEach(() => {
    vi.useFakeTimers();
    pace = TestBed.inject(PaceService);
  });

  afterEach(() => vi.useRealTimers());

  it('pauses the budget the server named for as long as it asked, tells the user, and lets go', async () => {
    pace.hold('messages', 2500);
    expect(pace.left('messages')).toBe(2500);
    expect(pace.leftForFrame('edit')).toBe(2500);
    expect(pace.leftForFrame('read')).toBe(0); // another budget goes on
    expect(pace.notice()).toContain('Waiting 3 s');
    await vi.advanceTimersByTimeAsync(2500);
    expect(pace.left('messages')).toBe(0);
    expect(pace.notice()).toBe('');
  });

  it('pauses every frame when the frame budget ran out', () => {
    pace.hold('frames', 400);
    expect(pace.leftForFrame('send')).toBe(400);
    expect(pace.leftForFrame('typing')).toBe(400);
  });

  it('keeps the longer of two pauses of one budget', async () => {
    pace.hold('rooms', 3000);
    pace.hold('rooms', 1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(pace.left('rooms')).toBe(2000);
    expect(pace.notice()).not.toBe('');
  });

  it('says nothing about a typing pause and forgets every pause on sign-out', () => {
    pace.hold('typing', 2000);
    expect(pace.leftForFrame('typing')).toBe(2000);
    expect(pace.notice()).toBe('');
    pace.hold('messages', 2000);
    pace.clear();
    expect(pace.left('typing', 'messages')).toBe(0);
    expect(pace.notice()).toBe('');
  });

  it('reads the wait and the budget from the body, else the wait from Retry-After, else a second', () => {
    const body = { error: { code: 'rate_limited', retry_after_ms: 1234, limit: 'uploads' } };
    expect(rateLimit(body, '2')).toEqual({ waitMs: 1234, budget: 'uploads' });
    expect(rateLimit({ error: { code: 'rate_limited' } }, '2')).toEqual({ waitMs: 2000, budget: 'unknown' });
    expect(rateLimit(null, null).waitMs).toBe(1000);
  });
});
