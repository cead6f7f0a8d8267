/** The JSON shapes of the HTTP API and the WebSocket (functions/http_api, domain/public.py). */

export interface Attachment {
  key: string;
  name: string;
  content_type: string;
  size: number;
}

/** A row of `GET /rooms/{id}/messages`. */
export interface MessageRow {
  room_id: string;
  seq: number;
  author: string;
  text: string;
  at: string;
  client_id?: string;
  attachments?: Attachment[];
  edited_at?: string;
  deleted: boolean;
}

/** An event as the WebSocket, the bus and `GET /rooms/{id}/events` carry it. */
export interface RoomEvent {
  type: string;
  room_id: string;
  seq: number;
  actor: string;
  at: string;
  event_id: string;
  user_id?: string;
  data: Record<string, any>;
  /**
   * On `message.created` and `message.updated`: what the inbox row's `last_message.preview` shows
   * for this message (the server's rule; the client never derives its own).
   */
  preview?: string;
}

export interface InboxEntry {
  room_id: string;
  kind: 'group' | 'dm';
  name: string;
  peer: string;
  last_seq: number;
  last_activity: string;
  last_message: { seq: number; author: string; preview: string; deleted: boolean } | null;
  read_seq: number;
  unread: number;
}

export interface RoomInfo {
  room_id: string;
  kind: 'group' | 'dm';
  name: string;
  seq: number;
  member_count: number;
  members: string[];
  last_activity: string | null;
}

export interface Written {
  room_id: string;
  seq: number;
  duplicate: boolean;
  events: RoomEvent[];
}

export interface UploadForm {
  url: string;
  fields: Record<string, string>;
  attachment: Attachment;
  expires_in: number;
}

export type ServerFrame =
  | RoomEvent
  | { type: 'ack'; client_id: string; room_id: string; seq: number; duplicate: boolean }
  | { type: 'error'; code: string; message: string; client_id: string; retry_after_ms?: number; limit?: string }
  | { type: 'typing'; room_id: string; user_id: string }
  | { type: 'pong' };

export function roomTitle(entry: { kind: string; name: string; peer?: string }): string {
  return entry.kind === 'dm' ? entry.peer || entry.name : entry.name;
}
