import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import {
  AuthError,
  AuthService,
  MfaChallenge,
  MfaRequired,
  otpauthUri,
} from '../core/auth.service';

type Mode = 'sign-in' | 'sign-up' | 'confirm' | 'mfa';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Component({
  selector: 'app-sign-in',
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './sign-in.html',
})
export class SignInComponent {
  private readonly auth = inject(AuthService);
  protected readonly mode = signal<Mode>('sign-in');
  protected readonly username = signal('');
  protected readonly password = signal('');
  protected readonly code = signal('');
  protected readonly error = signal('');
  protected readonly busy = signal(false);
  protected readonly challenge = signal<MfaChallenge | null>(null);
  protected readonly otpauthUri = otpauthUri;

  protected switchTo(mode: Mode): void {
    this.mode.set(mode);
    this.error.set('');
  }

  protected async submit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.busy()) {
      return;
    }
    this.busy.set(true);
    this.error.set('');
    const username = this.username().trim();
    try {
      if (this.mode() === 'sign-up') {
        const { confirmed } = await this.auth.signUp(username, this.password());
        await this.signInAfterSignUp(username, confirmed);
      } else if (this.mode() === 'mfa') {
        await this.auth.completeMfa(this.challenge()!, this.code().trim());
      } else if (this.mode() === 'confirm') {
        await this.auth.confirm(username, this.code().trim());
        await this.auth.signIn(username, this.password());
      } else {
        await this.auth.signIn(username, this.password());
      }
    } catch (error) {
      if (error instanceof MfaRequired) {
        this.challenge.set(error.challenge);
        this.code.set('');
        this.mode.set('mfa');
        this.error.set('');
      } else if (error instanceof AuthError && error.code === 'UserNotConfirmedException') {
        this.mode.set('confirm');
        this.error.set('Enter the confirmation code that was sent to you.');
      } else {
        this.error.set(error instanceof Error ? error.message : String(error));
      }
    } finally {
      this.busy.set(false);
    }
  }

  /** The local stage confirms new accounts within a moment; AWS sends a code instead. */
  private async signInAfterSignUp(username: string, confirmed: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.auth.signIn(username, this.password());
        return;
      } catch (error) {
        const waiting = error instanceof AuthError && error.code === 'UserNotConfirmedException';
        if (!waiting || (confirmed && attempt > 0) || attempt >= 10) {
          throw error;
        }
        await sleep(400);
      }
    }
  }
}
