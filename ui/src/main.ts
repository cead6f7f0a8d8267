import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { App } from './app/app';

bootstrapApplication(App, appConfig).catch((error: unknown) => {
  console.error(error);
  const root = document.querySelector('app-root');
  if (root) {
    root.textContent = `chat could not start: ${error instanceof Error ? error.message : error}. Reload to try again.`;
  }
});
