import { TestBed } from '@angular/core/testing';
import { AuthService, MfaRequired, REFRESH_MARGIN_MS, otpauthUri } from './auth.service';
import { ConfigService, FETCH } from './config';
import { configure, jwt } from './testing';

interface Call {
  target: string;
  body: Record<string, any>;
}

describe('AuthService', () => {
  let auth: AuthService;
  let calls: Call[];
  let answers: Array<{ status: number; body: object }>;

  const tokens = (expSeconds: number, refresh = 'refresh-1') => ({
    status: 200,
    body: {
      AuthenticationResult: {
        IdToken: jwt(expSeconds, { 'cognito:username': 'alice' }),
        AccessToken: jwt(expSeconds),
        RefreshToken: refresh,
      },
    },
  });
  const refusal = (type: string, message = '') => ({ status: 400, body: { __type: type, message } });

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-25T06:00:00Z'));
    localStorage.clear();
    calls = [];
    answers = [];
    const fetchFn = async (_url: string, init?: RequestInit) => {
      const headers = init?.headers as Record<string, string>;
      calls.push({ target: headers['X-Amz-Target'], body: JSON.parse(String(init?.body)) });
      const answer = answers.shift() ?? refusal('InternalErrorException');
      return new Response(JSON.stringify(answer.body), { status: answer.status });
    };
    TestBed.configureTestingModule({ providers: [{ provide: FETCH, useValue: fetchFn }] });
    configure(TestBed.inject(ConfigService));
    auth = TestBed.inject(AuthService);
  });

  afterEach(() => {
    auth.signOut();
    vi.useRealTimers();
  });

  const now = () => Math.floor(Date.now() / 1000);

  it('signs in with USER_PASSWORD_AUTH and keeps the session for a reload', async () => {
    answers.push(tokens(now() + 3600));
    await auth.signIn('alice', 'Alice-password-1');
    expect(calls[0].target).toBe('AWSCognitoIdentityProviderService.InitiateAuth');
    expect(calls[0].body).toEqual({
      ClientId: 'client-1',
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: 'alice', PASSWORD: 'Alice-password-1' },
    });
    expect(auth.username()).toBe('alice');
    const again = TestBed.runInInjectionContext(() => new AuthService());
    again.restore();
    expect(again.session()?.idToken).toBe(auth.token());
    again.signOut();
  });

  it.each([
    ['NotAuthorizedException', 'Wrong username or password.'],
    ['UserNotFoundException', 'Wrong username or password.'],
    ['UsernameExistsException', 'That username is already taken'],
    ['InvalidPasswordException', 'too weak'],
  ])('says %s in words', async (type, words) => {
    answers.push(refusal(type, 'raw service text'));
    await expect(auth.signUp('alice', 'x')).rejects.toThrow(words);
  });

  it('understands error types that carry a namespace prefix', async () => {
    answers.push(refusal('com.amazonaws.cognito#NotAuthorizedException'));
    await expect(auth.signIn('alice', 'wrong')).rejects.toMatchObject({
      code: 'NotAuthorizedException',
    });
  });

  it('refreshes the tokens a minute before they expire, keeping the refresh token', async () => {
    answers.push(tokens(now() + 600));
    await auth.signIn('alice', 'pw');
    const renewedExp = now() + 1200;
    const renewed = tokens(renewedExp);
    delete (renewed.body.AuthenticationResult as { RefreshToken?: string }).RefreshToken;
    answers.push(renewed); // Cognito's refresh answer carries no new refresh token
    await vi.advanceTimersByTimeAsync(600_000 - REFRESH_MARGIN_MS - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls[1].body).toEqual({
      ClientId: 'client-1',
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: 'refresh-1' },
    });
    expect(auth.session()?.refreshToken).toBe('refresh-1');
    expect(auth.session()?.expiresAt).toBe(renewedExp * 1000);
  });

  it('signs out when Cognito refuses the refresh token', async () => {
    answers.push(tokens(now() + 600));
    await auth.signIn('alice', 'pw');
    answers.push(refusal('NotAuthorizedException', 'Refresh Token has expired'));
    await vi.advanceTimersByTimeAsync(600_000);
    expect(auth.session()).toBeNull();
    expect(localStorage.getItem('chat.session')).toBeNull();
  });

  it('gives a token that is about to expire only after refreshing it', async () => {
    answers.push(tokens(now() + 20));
    await auth.signIn('alice', 'pw');
    const stale = auth.token();
    answers.push(tokens(now() + 3600));
    const fresh = await auth.freshToken();
    expect(fresh).not.toBe(stale);
    expect(calls.map((c) => c.body['AuthFlow'])).toEqual(['USER_PASSWORD_AUTH', 'REFRESH_TOKEN_AUTH']);
  });

  it('asks for the authenticator code when the pool requires it, then signs in', async () => {
    answers.push({ status: 200, body: { ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 's-1' } });
    const asked = await auth.signIn('alice', 'pw').catch((error: unknown) => error);
    expect(asked).toBeInstanceOf(MfaRequired);
    const challenge = (asked as MfaRequired).challenge;
    expect(challenge).toEqual({ kind: 'code', username: 'alice', session: 's-1' });
    expect(auth.session()).toBeNull();

    answers.push(tokens(now() + 3600));
    await auth.completeMfa(challenge, '123456');
    expect(calls[1].target).toBe('AWSCognitoIdentityProviderService.RespondToAuthChallenge');
    expect(calls[1].body).toEqual({
      ClientId: 'client-1',
      ChallengeName: 'SOFTWARE_TOKEN_MFA',
      Session: 's-1',
      ChallengeResponses: { USERNAME: 'alice', SOFTWARE_TOKEN_MFA_CODE: '123456' },
    });
    expect(auth.username()).toBe('alice');
  });

  it('sets up an authenticator the first time, verifying its code before signing in', async () => {
    answers.push({ status: 200, body: { ChallengeName: 'MFA_SETUP', Session: 's-1' } });
    answers.push({ status: 200, body: { SecretCode: 'ABCDEF234567', Session: 's-2' } });
    const asked = (await auth.signIn('alice', 'pw').catch((error: unknown) => error)) as MfaRequired;
    expect(asked.challenge).toEqual({
      kind: 'setup',
      username: 'alice',
      session: 's-2',
      secret: 'ABCDEF234567',
    });
    expect(otpauthUri(asked.challenge)).toBe(
      'otpauth://totp/chat%3Aalice?secret=ABCDEF234567&issuer=chat',
    );

    answers.push({ status: 200, body: { Status: 'SUCCESS', Session: 's-3' } });
    answers.push(tokens(now() + 3600));
    await auth.completeMfa(asked.challenge, '654321');
    expect(calls.map((c) => c.target.split('.')[1])).toEqual([
      'InitiateAuth',
      'AssociateSoftwareToken',
      'VerifySoftwareToken',
      'RespondToAuthChallenge',
    ]);
    expect(calls[2].body).toEqual({ Session: 's-2', UserCode: '654321', FriendlyDeviceName: 'chat' });
    expect(calls[3].body).toEqual({
      ClientId: 'client-1',
      ChallengeName: 'MFA_SETUP',
      Session: 's-3',
      ChallengeResponses: { USERNAME: 'alice' },
    });
    expect(auth.username()).toBe('alice');
  });

  it('says a wrong authenticator code in words', async () => {
    answers.push(refusal('CodeMismatchException', 'Invalid code received for user'));
    await expect(
      auth.completeMfa({ kind: 'code', username: 'alice', session: 's' }, '000000'),
    ).rejects.toThrow('That code is not right.');
  });
});
