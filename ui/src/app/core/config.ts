import { Injectable, InjectionToken } from '@angular/core';

/** The keys the local stage serves at /config.json and the Pulumi stack writes there. */
export interface AppConfig {
  apiUrl: string;
  wsUrl: string;
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  /** Cognito's JSON API; the regional AWS endpoint when absent. */
  cognitoEndpoint?: string;
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** fetch, replaceable in tests. */
export const FETCH = new InjectionToken<FetchFn>('fetch', {
  providedIn: 'root',
  factory: () => (input, init) => globalThis.fetch(input, init),
});

@Injectable({ providedIn: 'root' })
export class ConfigService {
  private value: AppConfig | null = null;

  /** Loads /config.json once, before the app starts: nothing about the stage is compiled in. */
  async load(fetchFn: FetchFn = (i, init) => globalThis.fetch(i, init)): Promise<AppConfig> {
    const response = await fetchFn('config.json', { cache: 'no-store' });
    if (!response.ok) {
      throw new Error(`config.json could not be loaded (${response.status})`);
    }
    this.set((await response.json()) as AppConfig);
    return this.get();
  }

  set(config: AppConfig): void {
    this.value = {
      ...config,
      apiUrl: config.apiUrl.replace(/\/+$/, ''),
      cognitoEndpoint:
        config.cognitoEndpoint || `https://cognito-idp.${config.region}.amazonaws.com/`,
    };
  }

  get(): AppConfig {
    if (!this.value) {
      throw new Error('the configuration is not loaded yet');
    }
    return this.value;
  }
}
