import { Attachment, MessageRow, RoomEvent } from './models';

export interface Message {
  seq: number;
  author: string;
  text: string;
  at: string;
  clientId: string;
  attachments: Attachment[];
  editedAt: string | null;
  deleted: boolean;
}

export type PendingStatus = 'sending' | 'sent' | 'failed';

/** The user's own message before its event arrives: shown at once, confirmed by its ack. */
export interface Pending {
  clientId: string;
  text: string;
  attachments: Attachment[];
  status: PendingStatus;
  error: string;
  seq: number | null;
  at: string;
}

export type Item = { kind: 'message'; message: Message } | { kind: 'pending'; pending: Pending };

export type Received = 'applied' | 'duplicate' | 'gap';

const ROOM_EVENTS = new Set([
  'room.created',
  'user.joined',
  'user.left',
  'message.created',
  'message.updated',
  'message.deleted',
]);

export function isRoomEvent(event: { type: string }): boolean {
  return ROOM_EVENTS.has(event.type);
}

export function fromRow(row: MessageRow): Message {
  return {
    seq: row.seq,
    author: row.author,
    text: row.text,
    at: row.at,
    clientId: row.client_id ?? '',
    attachments: row.attachments ?? [],
    editedAt: row.edited_at ?? null,
    deleted: row.deleted,
  };
}

/**
 * One room as this tab knows it. Room events are applied strictly in seq order, each once:
 * an event at or below `lastSeq` is a duplicate (delivery is at least once), and one beyond
 * `lastSeq + 1` waits until the gap is filled by catch-up. The chat service's feed already puts
 * the socket's frames in order (`Sequencer`); a timeline still waits on its own while its first
 * page is loading, or when that page is older than what the feed has applied.
 */
export class Timeline {
  readonly messages = new Map<number, Message>();
  readonly pending = new Map<string, Pending>();
  /** Every room event up to this seq has been applied. */
  lastSeq = 0;
  /** Smallest message seq loaded: the next history page ends before it. */
  oldestSeq: number | null = null;
  hasOlder = true;
  /** True once the first history page is in: before that, nothing is known to be missing. */
  started = false;
  private readonly ahead = new Map<number, RoomEvent>();

  constructor(
    readonly roomId: string,
    readonly me: string,
  ) {}

  /** A page of history (newest first, as the API gives it). The first page sets `lastSeq`. */
  addHistory(rows: MessageRow[], limit: number): void {
    for (const row of rows) {
      if (!this.messages.has(row.seq)) {
        this.messages.set(row.seq, fromRow(row));
      }
      this.settle(row.client_id ?? '', row.author);
      this.oldestSeq = this.oldestSeq === null ? row.seq : Math.min(this.oldestSeq, row.seq);
    }
    this.hasOlder = rows.length >= limit && (this.oldestSeq ?? 0) > 1;
    if (!this.started) {
      this.started = true;
      const newest = rows.reduce((top, row) => Math.max(top, row.seq), 0);
      this.lastSeq = Math.max(this.lastSeq, newest);
      this.drain();
    }
  }

  /** A room event from the socket or from catch-up. */
  receive(event: RoomEvent): Received {
    if (event.seq <= this.lastSeq) {
      return 'duplicate';
    }
    if (!this.started || event.seq > this.lastSeq + 1) {
      this.ahead.set(event.seq, event);
      return 'gap';
    }
    this.apply(event);
    this.lastSeq = event.seq;
    this.drain();
    return 'applied';
  }

  /** Whether events are waiting for a gap before them to be filled. */
  hasGap(): boolean {
    return this.ahead.size > 0;
  }

  addPending(clientId: string, text: string, attachments: Attachment[], at: string): Pending {
    const pending: Pending = {
      clientId,
      text,
      attachments,
      status: 'sending',
      error: '',
      seq: null,
      at,
    };
    this.pending.set(clientId, pending);
    return pending;
  }

  /** The server took the message as `seq`; it stays pending until its event shows it. */
  ack(clientId: string, seq: number): boolean {
    const pending = this.pending.get(clientId);
    if (!pending) {
      return false;
    }
    if (this.messages.get(seq)?.clientId === clientId) {
      this.pending.delete(clientId);
    } else {
      this.pending.set(clientId, { ...pending, status: 'sent', seq, error: '' });
    }
    return true;
  }

  fail(clientId: string, error: string): boolean {
    const pending = this.pending.get(clientId);
    if (!pending || pending.status === 'sent') {
      return false;
    }
    this.pending.set(clientId, { ...pending, status: 'failed', error });
    return true;
  }

  retrying(clientId: string): Pending | null {
    const pending = this.pending.get(clientId);
    if (!pending) {
      return null;
    }
    const again = { ...pending, status: 'sending' as const, error: '' };
    this.pending.set(clientId, again);
    return again;
  }

  /** Messages in seq order, then what is still pending, in the order it was written. */
  items(): Item[] {
    const sorted = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    const items: Item[] = sorted.map((message) => ({ kind: 'message', message }));
    for (const pending of this.pending.values()) {
      items.push({ kind: 'pending', pending });
    }
    return items;
  }

  /** The newest message's seq: what "read up to here" points at. */
  newestMessageSeq(): number {
    let top = 0;
    for (const seq of this.messages.keys()) {
      top = Math.max(top, seq);
    }
    return top;
  }

  private drain(): void {
    for (const seq of [...this.ahead.keys()].sort((a, b) => a - b)) {
      if (seq <= this.lastSeq) {
        this.ahead.delete(seq);
      } else if (seq === this.lastSeq + 1) {
        const event = this.ahead.get(seq)!;
        this.ahead.delete(seq);
        this.apply(event);
        this.lastSeq = seq;
      } else {
        break;
      }
    }
  }

  private apply(event: RoomEvent): void {
    const data = event.data;
    if (event.type === 'message.created') {
      const message: Message = {
        seq: event.seq,
        author: event.actor,
        text: String(data['text'] ?? ''),
        at: event.at,
        clientId: String(data['client_id'] ?? ''),
        attachments: (data['attachments'] as Attachment[]) ?? [],
        editedAt: null,
        deleted: false,
      };
      this.messages.set(event.seq, message);
      this.settle(message.clientId, message.author);
    } else if (event.type === 'message.updated') {
      const target = this.messages.get(Number(data['seq']));
      if (target) {
        this.messages.set(target.seq, { ...target, text: String(data['text']), editedAt: event.at });
      }
    } else if (event.type === 'message.deleted') {
      const target = this.messages.get(Number(data['seq']));
      if (target) {
        this.messages.set(target.seq, { ...target, text: '', attachments: [], deleted: true });
      }
    }
  }

  /** A message of ours arrived: its pending copy goes. */
  private settle(clientId: string, author: string): void {
    if (clientId && author === this.me) {
      this.pending.delete(clientId);
    }
  }
}
