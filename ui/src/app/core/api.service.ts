import { Injectable, inject } from '@angular/core';
import { AuthService } from './auth.service';
import { ConfigService, FETCH } from './config';
import { PaceService, rateLimit } from './pace.service';
import {
  Attachment,
  InboxEntry,
  MessageRow,
  RoomEvent,
  RoomInfo,
  UploadForm,
  Written,
} from './models';

/** How long one request waits out `rate_limited` answers in all before it gives up. */
export const MAX_PACED_WAIT_MS = 60_000;
/** Spreads requests refused together, so that they do not all come back at the same instant. */
export const PACED_JITTER_MS = 250;

/** A refusal of the HTTP API: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly config = inject(ConfigService);
  private readonly auth = inject(AuthService);
  private readonly fetchFn = inject(FETCH);
  private readonly pace = inject(PaceService);

  inbox(): Promise<{ rooms: InboxEntry[] }> {
    return this.json('GET', '/rooms');
  }

  openDm(peer: string): Promise<Written> {
    return this.json('POST', '/dms', { peer });
  }

  createRoom(name: string, members: string[]): Promise<Written> {
    return this.json('POST', '/rooms', { name, members, client_id: crypto.randomUUID() });
  }

  room(roomId: string): Promise<RoomInfo> {
    return this.json('GET', `/rooms/${enc(roomId)}`);
  }

  invite(roomId: string, userId: string): Promise<Written> {
    return this.json('POST', `/rooms/${enc(roomId)}/members`, {
      user_id: userId,
      client_id: crypto.randomUUID(),
    });
  }

  /** A page of history, newest first, strictly before `before`. */
  history(roomId: string, before: number | null, limit: number): Promise<{ messages: MessageRow[] }> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== null) {
      query.set('before', String(before));
    }
    return this.json('GET', `/rooms/${enc(roomId)}/messages?${query}`);
  }

  /** The room's events after `seq`, straight from the log (catch-up). */
  events(roomId: string, after: number): Promise<{ events: RoomEvent[] }> {
    return this.json('GET', `/rooms/${enc(roomId)}/events?after=${after}`);
  }

  edit(roomId: string, seq: number, text: string): Promise<Written> {
    return this.json('PATCH', `/rooms/${enc(roomId)}/messages/${seq}`, { text });
  }

  markRead(roomId: string, seq: number): Promise<Written> {
    return this.json('POST', `/rooms/${enc(roomId)}/read`, { seq, client_id: crypto.randomUUID() });
  }

  remove(roomId: string, seq: number): Promise<Written> {
    return this.json('DELETE', `/rooms/${enc(roomId)}/messages/${seq}`);
  }

  uploadForm(roomId: string, file: { name: string; type: string; size: number }): Promise<UploadForm> {
    return this.json('POST', `/rooms/${enc(roomId)}/uploads`, {
      name: file.name,
      content_type: file.type,
      size: file.size,
    });
  }

  /** The file's bytes: the API answers with a redirect to a short-lived URL, which fetch follows. */
  async download(roomId: string, attachment: Attachment): Promise<Blob> {
    const fileId = attachment.key.split('/').pop() ?? '';
    const query = new URLSearchParams({ name: attachment.name });
    const response = await this.send('GET', `/rooms/${enc(roomId)}/files/${enc(fileId)}?${query}`);
    return response.blob();
  }

  /** A short-lived URL of the file that the browser can stream from (and seek in) itself. */
  async fileUrl(roomId: string, attachment: Attachment): Promise<string> {
    const fileId = attachment.key.split('/').pop() ?? '';
    const query = new URLSearchParams({ name: attachment.name, as: 'url' });
    const answer = await this.json<{ url: string }>(
      'GET',
      `/rooms/${enc(roomId)}/files/${enc(fileId)}?${query}`,
    );
    return answer.url;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  private async send(method: string, path: string, body?: unknown, retried = false, waited = 0): Promise<Response> {
    const token = await this.auth.freshToken();
    let response: Response;
    try {
      response = await this.fetchFn(this.config.get().apiUrl + path, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection.');
    }
    if (response.status === 401 && !retried && (await this.auth.refresh())) {
      return this.send(method, path, body, true, waited);
    }
    if (!response.ok) {
      const answer = await response.json().catch(() => null);
      const error = refusal(response, answer);
      const limited = error.code === 'rate_limited' ? rateLimit(answer, response.headers.get('Retry-After')) : null;
      if (limited && waited + limited.waitMs <= MAX_PACED_WAIT_MS) {
        // Every write the client makes is safe to repeat (client ids make them idempotent).
        this.pace.hold(limited.budget, limited.waitMs);
        const pause = limited.waitMs + Math.random() * PACED_JITTER_MS;
        const who = this.auth.username();
        await new Promise((resolve) => setTimeout(resolve, pause));
        if (this.auth.username() !== who) {
          throw new ApiError(0, 'signed_out', 'Signed out before it could be sent.');
        }
        return this.send(method, path, body, retried, waited + pause);
      }
      throw error;
    }
    return response;
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function refusal(response: Response, body: any): ApiError {
  const error = body?.error ?? { code: 'http_' + response.status, message: body?.message };
  return new ApiError(
    response.status,
    error.code ?? 'http_' + response.status,
    error.message || response.statusText || 'failed',
  );
}
