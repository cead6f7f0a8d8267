import { WritableSignal, signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { ApiError, ApiService, MAX_PACED_WAIT_MS } from './api.service';
import { AuthService } from './auth.service';
import { ConfigService, FETCH } from './config';
import { PaceService } from './pace.service';
import { configure } from './testing';

describe('ApiService over a rate limit', () => {
  let api: ApiService;
  let pace: PaceService;
  let calls: { method: string; url: string; body: string | undefined; at: number }[];
  let answers: Response[];
  let user: WritableSignal<string>;

  const limited = (ms: number) =>
    new Response(
      JSON.stringify({
        error: { code: 'rate_limited', message: 'too many requests', retry_after_ms: ms, limit: 'rooms' },
      }),
      { status: 429, headers: { 'Retry-After': String(Math.ceil(ms / 1000)) } },
    );
  const written = () => new Response(JSON.stringify({ room_id: 'r1', seq: 1, duplicate: false, events: [] }), { status: 201 });

  beforeEach(() => {
    vi.useFakeTimers();
    calls = [];
    answers = [];
    const fetchFn = async (url: string, init?: RequestInit) => {
      calls.push({ method: String(init?.method), url, body: init?.body as string | undefined, at: Date.now() });
      return answers.shift() ?? written();
    };
    const who = signal('alice');
    user = who;
    const auth: Partial<AuthService> = { freshToken: async () => 'token', refresh: async () => null, username: who };
    TestBed.configureTestingModule({
      providers: [
        { provide: FETCH, useValue: fetchFn },
        { provide: AuthService, useValue: auth },
      ],
    });
    configure(TestBed.inject(ConfigService));
    api = TestBed.inject(ApiService);
    pace = TestBed.inject(PaceService);
  });

  afterEach(() => vi.useRealTimers());

  it('waits as long as the server says and sends the same write again', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    answers.push(limited(1500));
    const done = api.createRoom('Team', ['bob']);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    expect(pace.notice()).toContain('Waiting 2 s');
    expect(pace.left('rooms')).toBe(1500);
    await vi.advanceTimersByTimeAsync(1500);
    await expect(done).resolves.toMatchObject({ room_id: 'r1' });
    expect(calls).toHaveLength(2);
    expect(calls[1].body).toBe(calls[0].body); // the same client id: stored at most once
    expect(calls[1].at - calls[0].at).toBe(1500);
  });

  it('keeps waiting out refusals while the wait adds up to less than its bound, then gives up with the server\'s words', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const refusals = MAX_PACED_WAIT_MS / 10_000 + 1;
    answers.push(...Array.from({ length: refusals }, () => limited(10_000)));
    const done = api.edit('r1', 2, 'again').catch((error) => error);
    await vi.advanceTimersByTimeAsync(MAX_PACED_WAIT_MS);
    const error = await done;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', message: 'too many requests' });
    expect(calls).toHaveLength(refusals);
  });

  it('spreads writes refused together, so that each gets its turn', async () => {
    const draws = [0.1, 0.9];
    vi.spyOn(Math, 'random').mockImplementation(() => draws.shift() ?? 0.5);
    answers.push(limited(1000), limited(1000));
    const first = api.openDm('bob');
    const second = api.openDm('carol');
    await vi.advanceTimersByTimeAsync(2000);
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
    expect(calls[3].at - calls[2].at).toBeGreaterThan(100);
  });

  it('drops a paced write when its user signed out meanwhile, rather than send it as another', async () => {
    answers.push(limited(1000));
    const done = api.createRoom('Team', []).catch((error) => error);
    await vi.advanceTimersByTimeAsync(0);
    user.set('bob');
    await vi.advanceTimersByTimeAsync(1500);
    expect(await done).toMatchObject({ code: 'signed_out' });
    expect(calls).toHaveLength(1);
  });
});
