import { MessageRow, RoomEvent } from './models';
import { Timeline } from './timeline';

function created(seq: number, text: string, actor = 'alice', clientId = ''): RoomEvent {
  return {
    type: 'message.created',
    room_id: 'r1',
    seq,
    actor,
    at: `2026-11-25T06:00:${String(seq).padStart(2, '0')}.000Z`,
    event_id: `e${seq}`,
    data: { text, n: seq, client_id: clientId, attachments: [] },
  };
}

function row(seq: number, text: string, author = 'alice'): MessageRow {
  return { room_id: 'r1', seq, author, text, at: '2026-11-25T06:00:00.000Z', deleted: false };
}

const texts = (timeline: Timeline) =>
  timeline.items().map((item) => (item.kind === 'message' ? item.message.text : `pending:${item.pending.text}`));

function started(me = 'bob'): Timeline {
  const timeline = new Timeline('r1', me);
  timeline.addHistory([], 30);
  return timeline;
}

describe('Timeline: ordering and dedupe', () => {
  it('applies events in seq order and ignores an event it has already applied', () => {
    const timeline = started();
    expect(timeline.receive(created(1, 'one'))).toBe('applied');
    expect(timeline.receive(created(2, 'two'))).toBe('applied');
    expect(timeline.receive(created(2, 'two'))).toBe('duplicate');
    expect(timeline.receive(created(1, 'one'))).toBe('duplicate');
    expect(texts(timeline)).toEqual(['one', 'two']);
    expect(timeline.lastSeq).toBe(2);
  });

  it('holds an event that arrives after a gap until the gap is filled, then shows both in order', () => {
    const timeline = started();
    timeline.receive(created(1, 'one'));
    expect(timeline.receive(created(3, 'three'))).toBe('gap');
    expect(texts(timeline)).toEqual(['one']);
    expect(timeline.hasGap()).toBe(true);
    expect(timeline.receive(created(2, 'two'))).toBe('applied');
    expect(texts(timeline)).toEqual(['one', 'two', 'three']);
    expect(timeline.lastSeq).toBe(3);
    expect(timeline.hasGap()).toBe(false);
  });

  it('waits for the first history page before applying live events, then drops what the page already had', () => {
    const timeline = new Timeline('r1', 'bob');
    expect(timeline.receive(created(5, 'five'))).toBe('gap');
    expect(timeline.receive(created(6, 'six'))).toBe('gap');
    timeline.addHistory([row(5, 'five'), row(4, 'four')], 30);
    expect(texts(timeline)).toEqual(['four', 'five', 'six']);
    expect(timeline.lastSeq).toBe(6);
  });

  it('counts non-message room events in the seq, so a join does not look like a gap', () => {
    const timeline = started();
    timeline.receive({ ...created(1, ''), type: 'room.created', data: { members: [] } });
    timeline.receive({ ...created(2, ''), type: 'user.joined', data: { user_id: 'carol' } });
    expect(timeline.receive(created(3, 'hi'))).toBe('applied');
    expect(texts(timeline)).toEqual(['hi']);
  });

  it('pages history backwards without moving the live position, and knows when the start is reached', () => {
    const timeline = new Timeline('r1', 'bob');
    timeline.addHistory([row(9, 'nine'), row(8, 'eight')], 2);
    expect(timeline.hasOlder).toBe(true);
    expect(timeline.oldestSeq).toBe(8);
    timeline.addHistory([row(7, 'seven')], 2);
    expect(timeline.hasOlder).toBe(false);
    expect(timeline.lastSeq).toBe(9);
    expect(texts(timeline)).toEqual(['seven', 'eight', 'nine']);
  });

  it('marks an edited message as edited and a deleted one as deleted, without its text', () => {
    const timeline = started();
    timeline.receive(created(1, 'hello'));
    timeline.receive(created(2, 'bye'));
    timeline.receive({ ...created(3, ''), type: 'message.updated', data: { seq: 1, text: 'hello!' } });
    timeline.receive({ ...created(4, ''), type: 'message.deleted', data: { seq: 2 } });
    const [first, second] = [timeline.messages.get(1)!, timeline.messages.get(2)!];
    expect(first.text).toBe('hello!');
    expect(first.editedAt).not.toBeNull();
    expect(second.deleted).toBe(true);
    expect(second.text).toBe('');
  });
});

describe('Timeline: pending messages', () => {
  it('shows an own message as pending, marks it sent on its ack and replaces it with the event', () => {
    const timeline = started('bob');
    timeline.addPending('c1', 'on my way', [], 'now');
    expect(texts(timeline)).toEqual(['pending:on my way']);
    timeline.ack('c1', 1);
    expect(timeline.pending.get('c1')?.status).toBe('sent');
    timeline.receive(created(1, 'on my way', 'bob', 'c1'));
    expect(texts(timeline)).toEqual(['on my way']);
  });

  it('drops the pending copy when the event beats the ack, and ignores the late ack', () => {
    const timeline = started('bob');
    timeline.addPending('c1', 'quick', [], 'now');
    timeline.receive(created(1, 'quick', 'bob', 'c1'));
    expect(timeline.ack('c1', 1)).toBe(false);
    expect(texts(timeline)).toEqual(['quick']);
  });

  it('keeps pending messages after the confirmed ones, in the order they were written', () => {
    const timeline = started('bob');
    timeline.receive(created(1, 'from alice'));
    timeline.addPending('c1', 'first', [], 'now');
    timeline.addPending('c2', 'second', [], 'now');
    expect(texts(timeline)).toEqual(['from alice', 'pending:first', 'pending:second']);
  });

  it('marks a refused message failed and lets it be retried with the same client id', () => {
    const timeline = started('bob');
    timeline.addPending('c1', 'oops', [], 'now');
    expect(timeline.fail('c1', 'too long')).toBe(true);
    expect(timeline.pending.get('c1')).toMatchObject({ status: 'failed', error: 'too long' });
    const again = timeline.retrying('c1');
    expect(again).toMatchObject({ clientId: 'c1', status: 'sending', error: '' });
  });

  it('does not let a late timeout fail a message the server already took', () => {
    const timeline = started('bob');
    timeline.addPending('c1', 'taken', [], 'now');
    timeline.ack('c1', 1);
    expect(timeline.fail('c1', 'No answer')).toBe(false);
  });

  it('does not take someone else’s message with the same client id for our pending one', () => {
    const timeline = started('bob');
    timeline.addPending('c1', 'mine', [], 'now');
    timeline.receive(created(1, 'theirs', 'alice', 'c1'));
    expect(texts(timeline)).toEqual(['theirs', 'pending:mine']);
  });
});
