import { describe, expect, it } from 'vitest';
import { handleControlMessage, parseControlMessage, RunCancellations, type ControlTarget } from '../../../templates/worker/src/control.js';
import { recordingLogger } from './fake-channel.js';

function target(state = { working: 1, held: 7, draining: false }) {
  const calls: string[] = [];
  const replies: Array<{ replyTo: string; body: unknown; correlationId: string }> = [];
  const log = recordingLogger();
  const control: ControlTarget = {
    workerId: 'abc123def456',
    queue: 'task_a',
    cancellations: new RunCancellations(),
    dropRun: (run) => void calls.push(`dropRun ${run}`),
    state: () => state,
    reply: (replyTo, body, correlationId) => void replies.push({ replyTo, body: JSON.parse(body.toString()), correlationId }),
    now: () => 1_000,
    log,
  };
  return { control, calls, replies, log };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('control messages', () => {
  it('cancel-run remembers the run until `until` and drops its held tasks at once', () => {
    const { control, calls } = target();
    handleControlMessage(json({ type: 'cancel-run', run: 'r1', until: 5_000 }), control);
    expect(calls).toEqual(['dropRun r1']);
    expect(control.cancellations.isCancelled('r1', 4_999)).toBe(true);
    expect(control.cancellations.isCancelled('r1', 5_000)).toBe(false);
    expect(control.cancellations.isCancelled('r2', 1_000)).toBe(false);
    expect(control.cancellations.isCancelled(undefined, 1_000)).toBe(false);
  });

  it('report-state answers to replyTo (a direct reply-to name too) with the worker state, echoing requestId', () => {
    const { control, replies } = target({ working: 1, held: 7, draining: true });
    handleControlMessage(json({ type: 'report-state', requestId: 'q1', replyTo: 'amq.rabbitmq.reply-to.g1h2AA==' }), control);
    expect(replies).toEqual([
      {
        replyTo: 'amq.rabbitmq.reply-to.g1h2AA==',
        correlationId: 'q1',
        body: { type: 'worker-state', requestId: 'q1', workerId: 'abc123def456', queue: 'task_a', working: 1, held: 7, draining: true, at: 1_000 },
      },
    ]);
  });

  it('answers a request naming the bare direct reply-to pseudo-queue at the name the broker put in its replyTo property', () => {
    const { control, replies, log } = target();
    const request = json({ type: 'report-state', requestId: 'q1', replyTo: 'amq.rabbitmq.reply-to' });
    handleControlMessage(request, control, 'amq.rabbitmq.reply-to.g1h2AA==.xyz');
    expect(replies.map((reply) => reply.replyTo)).toEqual(['amq.rabbitmq.reply-to.g1h2AA==.xyz']);
    handleControlMessage(request, control, undefined);
    expect(replies).toHaveLength(1);
    expect(log.lines.map(([level, msg]) => `${level} ${msg}`)).toEqual(['warn report-state names direct reply-to without the broker-given name in its replyTo property; not answering']);
  });

  it('ignores, with a warning, what it does not know', () => {
    const { control, calls, replies, log } = target();
    for (const body of [Buffer.from('nope'), json({ type: 'reboot' }), json({ type: 'cancel-run', run: 'r1' }), json({ type: 'report-state', requestId: 'q', replyTo: '' })]) handleControlMessage(body, control);
    expect([calls, replies]).toEqual([[], []]);
    expect(log.lines.map(([level, msg]) => `${level} ${msg}`)).toEqual(Array(4).fill('warn ignoring an unknown control message'));
  });

  it('a failed reply is logged, not thrown', () => {
    const { control, log } = target();
    control.reply = () => {
      throw new Error('Channel closed');
    };
    handleControlMessage(json({ type: 'report-state', requestId: 'q1', replyTo: 'x' }), control);
    expect(log.lines).toEqual([['warn', 'could not answer report-state', { replyTo: 'x', error: 'Channel closed' }]]);
  });

  it('parses exactly the two message types of the protocol', () => {
    expect(parseControlMessage(json({ type: 'cancel-run', run: 'r', until: 1, extra: true }))).toEqual({ type: 'cancel-run', run: 'r', until: 1 });
    expect(parseControlMessage(json({ type: 'cancel-run', run: 'r', until: 'soon' }))).toBeUndefined();
  });
});

describe('RunCancellations', () => {
  it('keeps the later `until` of a run cancelled twice, and forgets runs past theirs', () => {
    const cancellations = new RunCancellations();
    cancellations.cancel('r1', 5_000, 0);
    cancellations.cancel('r1', 3_000, 0);
    expect(cancellations.isCancelled('r1', 4_000)).toBe(true);
    cancellations.cancel('r2', 9_000, 6_000);
    expect(cancellations.isCancelled('r1', 4_000)).toBe(false);
  });
});
