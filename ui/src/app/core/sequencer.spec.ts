import { Sequencer } from './sequencer';

interface Frame {
  seq: number;
  copy: number;
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) {
    return [items];
  }
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('Sequencer', () => {
  it('releases every seq once and in order, whatever the order and however often frames come', () => {
    for (const order of permutations([1, 2, 3, 4, 5])) {
      const sequencer = new Sequencer<Frame>();
      sequencer.reach(0);
      const released: number[] = [];
      // each frame twice: once in this order, then again in the reverse order
      const frames = [...order, ...[...order].reverse()].map((seq, i) => ({ seq, copy: i }));
      for (const frame of frames) {
        released.push(...sequencer.offer(frame, 0).map((f) => f.seq));
      }
      expect(released).toEqual([1, 2, 3, 4, 5]);
      expect(sequencer.last).toBe(5);
      expect(sequencer.gapSince()).toBeNull();
    }
  });

  it('holds a frame past a gap and releases it with the one that fills the gap', () => {
    const sequencer = new Sequencer<Frame>();
    sequencer.reach(10);
    expect(sequencer.offer({ seq: 13, copy: 0 }, 100)).toEqual([]);
    expect(sequencer.offer({ seq: 12, copy: 0 }, 250)).toEqual([]);
    expect(sequencer.missing()).toBe(11);
    expect(sequencer.gapSince()).toBe(100); // the gap at 11 has been open since 13 came
    expect(sequencer.offer({ seq: 13, copy: 1 }, 300)).toEqual([]); // already held: dropped
    expect(sequencer.offer({ seq: 11, copy: 0 }, 400).map((f) => f.seq)).toEqual([11, 12, 13]);
    expect(sequencer.offer({ seq: 13, copy: 1 }, 500)).toEqual([]); // already applied
    expect(sequencer.offer({ seq: 9, copy: 0 }, 500)).toEqual([]);
  });

  it('holds everything until something says where the room stands, then drops what that covers', () => {
    const sequencer = new Sequencer<Frame>();
    expect(sequencer.offer({ seq: 7, copy: 0 }, 0)).toEqual([]);
    expect(sequencer.offer({ seq: 5, copy: 0 }, 0)).toEqual([]);
    expect(sequencer.gapSince()).toBeNull(); // no known gap: nothing to catch up from
    expect(sequencer.reach(5).map((f) => f.seq)).toEqual([]);
    expect(sequencer.waiting()).toEqual([7]);
    expect(sequencer.reach(6).map((f) => f.seq)).toEqual([7]);
    expect(sequencer.reach(3)).toEqual([]); // never goes back
    expect(sequencer.last).toBe(7);
  });

  it('after a catch-up, what is still held waits afresh', () => {
    const sequencer = new Sequencer<Frame>();
    sequencer.reach(0);
    sequencer.offer({ seq: 3, copy: 0 }, 0);
    sequencer.restartClock(2_000);
    expect(sequencer.gapSince()).toBe(2_000);
  });
});
