import { Injectable, OnDestroy, computed, inject, signal } from '@angular/core';
import { ConfigService, FETCH } from './config';

export interface Session {
  username: string;
  idToken: string;
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch when the id token expires. */
  expiresAt: number;
}

/** A refusal from Cognito, with words a person can act on. */
export class AuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A second step Cognito asks for after the password (prod requires MFA): a code from the user's
 * authenticator app, or, the first time, adding this app's key to one.
 */
export interface MfaChallenge {
  kind: 'code' | 'setup';
  username: string;
  session: string;
  /** The key to add to an authenticator app (setup only). */
  secret?: string;
}

export class MfaRequired extends Error {
  constructor(readonly challenge: MfaChallenge) {
    super(
      challenge.kind === 'setup'
        ? 'Add chat to your authenticator app, then enter the code it shows.'
        : 'Enter the code from your authenticator app.',
    );
  }
}

/** The otpauth:// address an authenticator app takes for this key. */
export function otpauthUri(challenge: MfaChallenge, issuer = 'chat'): string {
  const label = encodeURIComponent(`${issuer}:${challenge.username}`);
  return `otpauth://totp/${label}?secret=${challenge.secret ?? ''}&issuer=${encodeURIComponent(issuer)}`;
}

const WORDS: Record<string, string> = {
  NotAuthorizedException: 'Wrong username or password.',
  UserNotFoundException: 'Wrong username or password.',
  UsernameExistsException: 'That username is already taken. Pick another one or sign in.',
  InvalidPasswordException:
    'That password is too weak: use at least 8 characters, including a number.',
  UserNotConfirmedException: 'This account is not confirmed yet.',
  CodeMismatchException: 'That code is not right.',
  EnableSoftwareTokenMFAException: 'That code is not right. Try the next one your app shows.',
  ExpiredCodeException: 'That confirmation code has expired.',
  TooManyRequestsException: 'Too many attempts. Wait a moment and try again.',
  LimitExceededException: 'Too many attempts. Wait a moment and try again.',
};

/** Refresh this long before the token expires. */
export const REFRESH_MARGIN_MS = 60_000;
const STORAGE_KEY = 'chat.session';

export function expiryOf(jwt: string): number {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return Number(JSON.parse(json).exp) * 1000;
}

/** Sign up, sign in, refresh and sign out against Cognito's JSON API (no SDK needed). */
@Injectable({ providedIn: 'root' })
export class AuthService implements OnDestroy {
  private readonly config = inject(ConfigService);
  private readonly fetchFn = inject(FETCH);
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<Session | null> | null = null;

  readonly session = signal<Session | null>(null);
  readonly username = computed(() => this.session()?.username ?? '');

  /** Picks up a session kept from an earlier visit (a reload keeps the user signed in). */
  restore(): void {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (!saved) {
      return;
    }
    try {
      this.adopt(JSON.parse(saved) as Session);
    } catch {
      localStorage.removeItem(STORAGE_KEY);
    }
  }

  async signUp(username: string, password: string, email = ''): Promise<{ confirmed: boolean }> {
    const attributes = email ? [{ Name: 'email', Value: email }] : [];
    const answer = await this.call('SignUp', {
      ClientId: this.config.get().userPoolClientId,
      Username: username,
      Password: password,
      UserAttributes: attributes,
    });
    return { confirmed: Boolean(answer['UserConfirmed']) };
  }

  async confirm(username: string, code: string): Promise<void> {
    await this.call('ConfirmSignUp', {
      ClientId: this.config.get().userPoolClientId,
      Username: username,
      ConfirmationCode: code,
    });
  }

  async signIn(username: string, password: string): Promise<Session> {
    const answer = await this.call('InitiateAuth', {
      ClientId: this.config.get().userPoolClientId,
      AuthFlow: 'USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: username, PASSWORD: password },
    });
    const challenge = String(answer['ChallengeName'] ?? '');
    const pending = String(answer['Session'] ?? '');
    if (challenge === 'SOFTWARE_TOKEN_MFA') {
      throw new MfaRequired({ kind: 'code', username, session: pending });
    }
    if (challenge === 'MFA_SETUP') {
      const associated = await this.call('AssociateSoftwareToken', { Session: pending });
      throw new MfaRequired({
        kind: 'setup',
        username,
        session: String(associated['Session'] ?? pending),
        secret: String(associated['SecretCode'] ?? ''),
      });
    }
    return this.signedIn(username, answer);
  }

  /** The second step: the authenticator's code (after adding the key, the first time). */
  async completeMfa(challenge: MfaChallenge, code: string): Promise<Session> {
    const clientId = this.config.get().userPoolClientId;
    if (challenge.kind === 'code') {
      const answer = await this.call('RespondToAuthChallenge', {
        ClientId: clientId,
        ChallengeName: 'SOFTWARE_TOKEN_MFA',
        Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.username, SOFTWARE_TOKEN_MFA_CODE: code },
      });
      return this.signedIn(challenge.username, answer);
    }
    const verified = await this.call('VerifySoftwareToken', {
      Session: challenge.session,
      UserCode: code,
      FriendlyDeviceName: 'chat',
    });
    const answer = await this.call('RespondToAuthChallenge', {
      ClientId: clientId,
      ChallengeName: 'MFA_SETUP',
      Session: String(verified['Session'] ?? challenge.session),
      ChallengeResponses: { USERNAME: challenge.username },
    });
    return this.signedIn(challenge.username, answer);
  }

  private signedIn(username: string, answer: Record<string, unknown>): Session {
    const result = answer['AuthenticationResult'] as Record<string, string> | undefined;
    if (!result) {
      throw new AuthError('Challenge', 'This account needs a step this app does not support.');
    }
    const session: Session = {
      username,
      idToken: result['IdToken'],
      accessToken: result['AccessToken'],
      refreshToken: result['RefreshToken'],
      expiresAt: expiryOf(result['IdToken']),
    };
    this.adopt(session);
    return session;
  }

  /** New tokens from the refresh token; signs out if Cognito refuses it. */
  refresh(): Promise<Session | null> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** A token good for at least `marginMs` more, refreshing first when needed. */
  async freshToken(marginMs = 30_000): Promise<string> {
    const current = this.session();
    if (!current) {
      throw new AuthError('SignedOut', 'You are signed out.');
    }
    if (current.expiresAt - Date.now() > marginMs) {
      return current.idToken;
    }
    const renewed = await this.refresh();
    if (!renewed) {
      throw new AuthError('SignedOut', 'Your session has ended. Sign in again.');
    }
    return renewed.idToken;
  }

  token(): string {
    return this.session()?.idToken ?? '';
  }

  signOut(): void {
    this.clearTimer();
    localStorage.removeItem(STORAGE_KEY);
    this.session.set(null);
  }

  ngOnDestroy(): void {
    this.clearTimer();
  }

  private async doRefresh(): Promise<Session | null> {
    const current = this.session();
    if (!current) {
      return null;
    }
    try {
      const answer = await this.call('InitiateAuth', {
        ClientId: this.config.get().userPoolClientId,
        AuthFlow: 'REFRESH_TOKEN_AUTH',
        AuthParameters: { REFRESH_TOKEN: current.refreshToken },
      });
      const result = answer['AuthenticationResult'] as Record<string, string>;
      const session: Session = {
        ...current,
        idToken: result['IdToken'],
        accessToken: result['AccessToken'],
        refreshToken: result['RefreshToken'] || current.refreshToken,
        expiresAt: expiryOf(result['IdToken']),
      };
      this.adopt(session);
      return session;
    } catch (error) {
      if (error instanceof AuthError && error.code !== 'Network') {
        this.signOut();
        return null;
      }
      // Offline for now: try again a little later, keep the session.
      this.schedule(Date.now() + REFRESH_MARGIN_MS + 30_000);
      return null;
    }
  }

  private adopt(session: Session): void {
    this.session.set(session);
    localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    this.schedule(session.expiresAt);
  }

  private schedule(expiresAt: number): void {
    this.clearTimer();
    const delay = Math.max(0, expiresAt - REFRESH_MARGIN_MS - Date.now());
    this.refreshTimer = setTimeout(() => void this.refresh(), delay);
  }

  private clearTimer(): void {
    if (this.refreshTimer !== null) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  private async call(action: string, body: object): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await this.fetchFn(this.config.get().cognitoEndpoint!, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}`,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new AuthError('Network', 'The sign-in service cannot be reached. Check your connection.');
    }
    const text = await response.text();
    const answer = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!response.ok) {
      const type = String(answer['__type'] ?? response.headers.get('x-amzn-errortype') ?? '');
      const code = type.split('#').pop()!.split(':')[0] || 'Unknown';
      const message = String(answer['message'] ?? answer['Message'] ?? '');
      throw new AuthError(code, WORDS[code] ?? (message || 'Something went wrong. Try again.'));
    }
    return answer;
  }
}
