import { Injectable, signal } from '@angular/core';

/** Which room is open, kept in the address (`#/rooms/<id>`) so a reload reopens it. */
@Injectable({ providedIn: 'root' })
export class NavService {
  readonly roomId = signal<string | null>(read());

  constructor() {
    globalThis.addEventListener?.('hashchange', () => this.roomId.set(read()));
  }

  open(roomId: string | null): void {
    location.hash = roomId ? `#/rooms/${encodeURIComponent(roomId)}` : '#/';
    this.roomId.set(roomId);
  }
}

function read(): string | null {
  const match = /^#\/rooms\/([^/]+)$/.exec(globalThis.location?.hash ?? '');
  return match ? decodeURIComponent(match[1]) : null;
}
