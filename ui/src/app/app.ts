import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { AuthService } from './core/auth.service';
import { ShellComponent } from './shell/shell';
import { SignInComponent } from './sign-in/sign-in';

@Component({
  selector: 'app-root',
  imports: [ShellComponent, SignInComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (auth.session()) {
      <app-shell />
    } @else {
      <app-sign-in />
    }
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
}
