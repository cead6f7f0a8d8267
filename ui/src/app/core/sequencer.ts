/**
 * How long a room's gap may stay open before the log is asked for what is missing.
 *
 * On AWS the bus delivers a room's events unordered and at least once: two events published
 * together reach the broadcaster through concurrent invocations, so their frames swap by about
 * the spread of the delivery latency (tens to a few hundred ms; the latency target is a p99 of
 * 150 ms). A frame that did not come within that spread is not coming soon: the bus retries a
 * failed delivery with a backoff of seconds. 1.5 s waits out ten times the normal spread, so a
 * swap costs no HTTP call, and holds what came after a truly lost frame for at most that long
 * plus one catch-up (the ack timer of an own message is 3 s, beyond that).
 */
export const GAP_WAIT_MS = 1_500;

interface Held<E> {
  event: E;
  /** When it arrived: a gap before it has been open at least since then. */
  since: number;
}

/**
 * One room's frames put back in seq order. A room's seq is its stream version, gap-free from 1,
 * so the next frame to apply is always `last + 1`: one at or below `last`, or one already held,
 * is a duplicate; one beyond `last + 1` is held until everything before it is in. Until
 * something says where the room stands (`reach`), every frame is held. Pure: it keeps no timer
 * and reads no clock; the caller passes the time and schedules the catch-up.
 */
export class Sequencer<E extends { seq: number }> {
  /** Every seq up to this one has been released (or was known before); null: not known yet. */
  last: number | null = null;
  private readonly held = new Map<number, Held<E>>();

  /** A frame as it arrived: the events it makes due, in seq order (none when held or a duplicate). */
  offer(event: E, now: number): E[] {
    if ((this.last !== null && event.seq <= this.last) || this.held.has(event.seq)) {
      return [];
    }
    this.held.set(event.seq, { event, since: now });
    return this.drain();
  }

  /**
   * Everything up to `seq` is accounted for (a snapshot says so, or a read of the log got that
   * far): what is held up to it is dropped, and what it makes due is returned. Never goes back.
   */
  reach(seq: number): E[] {
    if (this.last !== null && seq <= this.last) {
      return [];
    }
    this.last = seq;
    return this.drain();
  }

  /** Since when the oldest frame waiting behind a gap has waited; null when nothing waits on a gap. */
  gapSince(): number | null {
    if (this.last === null || this.held.size === 0) {
      return null;
    }
    let since = Infinity;
    for (const held of this.held.values()) {
      since = Math.min(since, held.since);
    }
    return since;
  }

  /** The first seq missing before a held frame, or null. */
  missing(): number | null {
    return this.last !== null && this.held.size > 0 ? this.last + 1 : null;
  }

  /** The seqs held, lowest first. */
  waiting(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** What is still held after a catch-up waits afresh: the log was read, so it is news still on its way. */
  restartClock(now: number): void {
    for (const held of this.held.values()) {
      held.since = now;
    }
  }

  private drain(): E[] {
    const due: E[] = [];
    if (this.last === null) {
      return due;
    }
    for (const seq of this.held.keys()) {
      if (seq <= this.last) {
        this.held.delete(seq);
      }
    }
    for (let next = this.held.get(this.last + 1); next; next = this.held.get(this.last + 1)) {
      this.held.delete(this.last + 1);
      this.last += 1;
      due.push(next.event);
    }
    return due;
  }
}
