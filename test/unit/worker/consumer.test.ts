import { describe, expect, it } from 'vitest';
import { RunCancellations } from '../../../templates/worker/src/control.js';
import { TaskConsumer, UnroutableResults, WorkerStats } from '../../../templates/worker/src/consumer.js';
import type { Logger } from '../../../templates/worker/src/log.js';
import { ABANDONED_HEADER, ATTEMPT_HEADER, DEAD_LETTER_REASON_HEADER, INTERRUPTED_HEADER } from '../../../templates/worker/src/protocol.js';
import type { WorkPlan } from '../../../templates/worker/src/task-work.js';
import { deferred, FakeChannel, flush, recordingLogger } from './fake-channel.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, enabled: () => false };

function setup(
  options: { concurrency?: number; maxUnconfirmed?: number; defaults?: Partial<WorkPlan>; random?: number; log?: Logger; quarantine?: boolean; cancellations?: RunCancellations; clock?: { now: number }; onQueueMissing?: (queue: string) => Promise<void> } = {},
) {
  const channel = new FakeChannel();
  const stats = new WorkerStats();
  const pending: Array<() => void> = [];
  const crashes: string[] = [];
  const clock = options.clock ?? { now: 1_000 };
  const log = options.log ?? silent;
  const cancellations = options.cancellations ?? new RunCancellations();
  const consumer = new TaskConsumer(
    {
      queue: 'task_a',
      quarantine: options.quarantine,
      workerId: 'abc123',
      concurrency: options.concurrency ?? 1,
      maxUnconfirmed: options.maxUnconfirmed ?? 10,
      maxAttempts: 3,
      resultsQueue: 'qscale.results',
      defaults: { workMs: 100, cpu: false, failRate: 0, crashRate: 0, ...options.defaults },
    },
    {
      channel,
      stats,
      log,
      cancellations,
      unroutable: new UnroutableResults(stats, log, () => clock.now),
      now: () => clock.now,
      onQueueMissing: options.onQueueMissing,
      work: {
        // Work finishes when the test says so.
        sleep: () => {
          const work = deferred();
          pending.push(work.resolve);
          return work.promise;
        },
        burnCpu: () => {},
        random: () => options.random ?? 0.5,
        crash: () => void crashes.push('SIGKILL'),
      },
    },
  );
  const finishAll = async () => {
    // At least one turn, for the confirms of tasks that needed no work.
    do {
      pending.splice(0).forEach((resolve) => resolve());
      await flush();
    } while (pending.length > 0);
  };
  return { channel, stats, consumer, pending, finishAll, crashes, clock, cancellations };
}

describe('TaskConsumer', () => {
  it('publishes the result, confirmed, before it acks the task', async () => {
    const { channel, consumer, finishAll } = setup();
    await consumer.start();
    channel.deliver({ messageId: 't1' });
    await finishAll();
    expect(channel.calls).toEqual(['consume task_a', 'result t1 completed → results.run1', 'ack t1']);
    expect(channel.resultsFor('t1')).toEqual([
      { taskId: 't1', queue: 'task_a', workerId: 'abc123', startedAt: 1_000, finishedAt: 1_000, attempt: 1, redelivered: false, outcome: 'completed' },
    ]);
  });

  it('sends results to the fallback queue when the task has no replyTo, and echoes run and redelivered', async () => {
    const { channel, consumer, finishAll } = setup();
    await consumer.start();
    // A quarantined copy: not flagged by the broker, but an earlier delivery was abandoned.
    channel.deliver({ messageId: 't1', replyTo: undefined, headers: { [ABANDONED_HEADER]: 1 }, body: Buffer.from(JSON.stringify({ id: 't1', run: 'r9', sentAt: 0 })) });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['result t1 completed → qscale.results', 'ack t1']);
    expect(channel.resultsFor('t1')[0]).toMatchObject({ run: 'r9', redelivered: true });
  });

  it('retries a failed task as a copy with the next attempt number, then acks the original', async () => {
    const { channel, consumer, finishAll } = setup({ defaults: { failRate: 1 } });
    await consumer.start();
    channel.deliver({ messageId: 't1', headers: { [ATTEMPT_HEADER]: 2, other: 'kept' } });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a', 'result t1 retrying → results.run1', 'ack t1']);
    expect(channel.published[0].properties).toMatchObject({ messageId: 't1', replyTo: 'results.run1', headers: { [ATTEMPT_HEADER]: 3, other: 'kept' } });
    expect(channel.resultsFor('t1')[0]).toMatchObject({ attempt: 2, outcome: 'retrying', error: 'simulated failure (failRate 1)' });
  });

  it('dead-letters a task failing its last attempt by publishing it to <queue>.dlq with the reason, then acks it', async () => {
    const log = recordingLogger();
    const { channel, consumer, stats, finishAll } = setup({ log });
    await consumer.start();
    channel.deliver({ messageId: 't1', headers: { [ATTEMPT_HEADER]: 3 }, body: Buffer.from(JSON.stringify({ id: 't1', sentAt: 0, failRate: 1 })) });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a.dlq', 'result t1 dead-lettered → results.run1', 'ack t1']);
    expect(channel.copiesTo('task_a.dlq')[0].properties.headers).toEqual({ [ATTEMPT_HEADER]: 3, [DEAD_LETTER_REASON_HEADER]: 'failed 3 attempt(s): simulated failure (failRate 1)' });
    expect([stats.completed, stats.retried, stats.deadLettered]).toEqual([0, 0, 1]);
    expect(log.lines.filter(([level]) => level === 'info')).toEqual([
      ['info', 'dead-lettered', { taskId: 't1', reason: 'failed 3 attempt(s): simulated failure (failRate 1)', dlq: 'task_a.dlq', bytes: 35 }],
    ]);
  });

  it.each([
    ['not JSON', Buffer.from('not json'), 'malformed task: not JSON (8 bytes)'],
    ['empty', Buffer.alloc(0), 'malformed task: empty body'],
    ['5 MB of garbage', Buffer.alloc(5 * 1024 * 1024, 0x7b), 'malformed task: not JSON (5242880 bytes)'],
    ['a JSON array', Buffer.from('[1,2]'), 'malformed task: not a JSON object with an id'],
    ['a negative workMs', Buffer.from(JSON.stringify({ id: 'junk', sentAt: 0, workMs: -5 })), 'malformed task: workMs out of range (expected 0..86400000 ms or {min ≤ max}): -5'],
    ['a workMs over 24 h', Buffer.from(JSON.stringify({ id: 'junk', sentAt: 0, workMs: 90_000_000 })), 'malformed task: workMs out of range (expected 0..86400000 ms or {min ≤ max}): 90000000'],
    ['a range with min > max', Buffer.from(JSON.stringify({ id: 'junk', sentAt: 0, workMs: { min: 10, max: 1 } })), 'malformed task: workMs out of range (expected 0..86400000 ms or {min ≤ max}): {"min":10,"max":1}'],
  ])('dead-letters a malformed message (%s) with its reason, logged at info', async (_name, body, reason) => {
    const log = recordingLogger();
    const { channel, consumer, pending, finishAll } = setup({ log });
    await consumer.start();
    channel.deliver({ messageId: 'junk', body });
    await finishAll();
    expect(pending).toEqual([]);
    expect(channel.calls.slice(1)).toEqual(['copy junk → task_a.dlq', 'result junk dead-lettered → results.run1', 'ack junk']);
    expect(channel.copiesTo('task_a.dlq')[0].properties.headers).toEqual({ [DEAD_LETTER_REASON_HEADER]: reason });
    expect(channel.copiesTo('task_a.dlq')[0].body.equals(body)).toBe(true);
    expect(channel.resultsFor('junk')[0]).toMatchObject({ outcome: 'dead-lettered', error: reason });
    expect(log.lines.filter(([level]) => level === 'info')).toEqual([['info', 'dead-lettered', { taskId: 'junk', reason, dlq: 'task_a.dlq', bytes: body.length }]]);
  });

  it('says "no id" for a dead-lettered message without a message id', async () => {
    const log = recordingLogger();
    const { channel, consumer, finishAll } = setup({ log });
    await consumer.start();
    channel.deliver({ messageId: undefined as unknown as string, body: Buffer.from('??') });
    await finishAll();
    expect(log.lines.find(([, msg]) => msg === 'dead-lettered')?.[2]).toMatchObject({ taskId: 'no id', reason: 'malformed task: not JSON (2 bytes)' });
  });

  it('returns a task to the queue when its result cannot be handed to the channel', async () => {
    const { channel, consumer, stats, finishAll } = setup();
    await consumer.start();
    channel.failPublish = true;
    channel.deliver({ messageId: 't1' });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['nack t1 requeue=true']);
    expect([stats.processed, stats.abandoned]).toEqual([0, 1]);
  });

  it('leaves a task unsettled when its channel is closed (the broker redelivers it)', async () => {
    const { channel, consumer, stats, finishAll } = setup();
    await consumer.start();
    channel.deliver({ messageId: 't1' });
    channel.closed = true;
    await finishAll();
    expect(channel.calls.slice(1)).toEqual([]);
    expect([stats.processed, stats.abandoned, consumer.inFlight]).toEqual([0, 1, 0]);
  });

  it('works on at most `concurrency` tasks at a time', async () => {
    const { channel, consumer, pending, finishAll } = setup({ concurrency: 2 });
    await consumer.start();
    for (const id of ['t1', 't2', 't3']) channel.deliver({ messageId: id });
    await flush();
    expect(pending).toHaveLength(2);
    expect(consumer.inFlight).toBe(3);
    await finishAll();
    expect(channel.calls.filter((call) => call.startsWith('ack'))).toEqual(['ack t1', 'ack t2', 'ack t3']);
  });

  describe('pipelined confirms', () => {
    const acks = (calls: string[]) => calls.filter((call) => call.startsWith('ack') || call.startsWith('nack'));

    it('acks a task only when its result is confirmed, and meanwhile works on the next one', async () => {
      const { channel, consumer, stats, pending, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 't1' });
      channel.deliver({ messageId: 't2' });
      await flush();
      pending.shift()?.();
      await flush();
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1']);
      // The confirm wait does not hold the slot: t2 is being worked on.
      expect(pending).toHaveLength(1);
      expect([consumer.inFlight, stats.completed]).toEqual([2, 0]);

      channel.confirm(1);
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'ack t1']);
      await finishAll();
      channel.confirm();
      expect(acks(channel.calls)).toEqual(['ack t1', 'ack t2']);
      expect([consumer.inFlight, stats.completed]).toEqual([0, 2]);
    });

    it('returns a task to the queue as an identical copy when the broker refuses its result (a requeue would count it abandoned), and counts nothing done', async () => {
      const { channel, consumer, stats, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      const t1 = channel.deliver({ messageId: 't1', headers: { [ATTEMPT_HEADER]: 2 } });
      await finishAll();
      channel.confirm(1, new Error('message nacked'));
      channel.confirm(1);
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'copy t1 → task_a', 'ack t1']);
      expect(channel.copiesTo('task_a')[0]).toEqual({ queue: 'task_a', body: t1.body, properties: expect.objectContaining({ headers: { [ATTEMPT_HEADER]: 2 } }) });
      expect([stats.processed, stats.abandoned, consumer.inFlight]).toEqual([0, 0, 0]);
    });

    it('requeues a task whose hand-back copy is refused too', async () => {
      const { channel, consumer, stats, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 't1' });
      await finishAll();
      channel.confirm(1, new Error('message nacked'));
      channel.confirm(1, new Error('message nacked'));
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'copy t1 → task_a', 'nack t1 requeue=true']);
      expect([stats.processed, stats.abandoned, consumer.inFlight]).toEqual([0, 1, 0]);
    });

    it('settles a retried task when both its copy and its result are confirmed; a refused copy returns it to the queue', async () => {
      const { channel, consumer, stats, finishAll } = setup({ defaults: { failRate: 1 } });
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 't1' });
      channel.deliver({ messageId: 't2' });
      await finishAll();
      expect(channel.unconfirmed.map((entry) => entry.messageId)).toEqual(['t1', 't1/1', 't2', 't2/1']);
      channel.confirm(1);
      expect(acks(channel.calls)).toEqual([]);
      channel.confirm(1);
      expect(acks(channel.calls)).toEqual(['ack t1']);
      channel.confirm(1, new Error('message nacked'));
      channel.confirm(1);
      channel.confirm(1);
      expect(acks(channel.calls)).toEqual(['ack t1', 'ack t2']);
      expect(channel.copiesTo('task_a').map((copy) => copy.properties.headers)).toEqual([{ [ATTEMPT_HEADER]: 2 }, { [ATTEMPT_HEADER]: 2 }, {}]);
      expect([stats.retried, stats.abandoned]).toEqual([1, 0]);
    });

    it('dead-letters only after the dead-letter copy and the result are confirmed; a refused copy returns the task to the queue', async () => {
      const { channel, consumer, stats, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 'junk', body: Buffer.from('not json') });
      await finishAll();
      expect(acks(channel.calls)).toEqual([]);
      channel.confirm();
      expect(acks(channel.calls)).toEqual(['ack junk']);

      channel.deliver({ messageId: 'junk2', body: Buffer.from('not json') });
      await finishAll();
      channel.confirm(1, new Error('message nacked'));
      channel.confirm(1);
      channel.confirm(1);
      expect(acks(channel.calls)).toEqual(['ack junk', 'ack junk2']);
      expect(channel.copiesTo('task_a')).toHaveLength(1);
      expect([stats.deadLettered, stats.abandoned]).toEqual([1, 0]);
    });

    it('starts no task while maxUnconfirmed tasks would then await their confirm', async () => {
      const { channel, consumer, pending, finishAll } = setup({ concurrency: 5, maxUnconfirmed: 2 });
      channel.autoConfirm = false;
      await consumer.start();
      for (const id of ['t1', 't2', 't3', 't4', 't5']) channel.deliver({ messageId: id });
      await flush();
      expect(pending).toHaveLength(2);
      await finishAll();
      expect(channel.unconfirmed).toHaveLength(2);
      expect(pending).toHaveLength(0);

      channel.confirm(1);
      await flush();
      expect(pending).toHaveLength(1);
      await finishAll();
      expect(channel.unconfirmed).toHaveLength(2);
      channel.confirm();
      await finishAll();
      channel.confirm();
      await finishAll();
      channel.confirm();
      expect(acks(channel.calls)).toEqual(['ack t1', 'ack t2', 'ack t3', 'ack t4', 'ack t5']);
    });

    it('publishes nothing more while the write buffer is full, and holds the slot until it drains', async () => {
      const { channel, consumer, pending, finishAll } = setup();
      await consumer.start();
      channel.full = true;
      for (const id of ['t1', 't2', 't3']) channel.deliver({ messageId: id });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'ack t1']);
      // t2 is worked but waits to publish; t3 waits for the slot.
      expect([pending.length, consumer.inFlight]).toEqual([0, 2]);

      channel.drain();
      await finishAll();
      expect(acks(channel.calls)).toEqual(['ack t1', 'ack t2', 'ack t3']);
    });

    it('builds the debug line of a settled task only when debug is on', async () => {
      const lines: Array<[string, Record<string, unknown> | undefined]> = [];
      const logger = (debug: boolean): Logger => ({ ...silent, debug: (msg, fields) => void lines.push([msg, fields]), enabled: (level) => debug && level === 'debug' });
      const quiet = setup({ log: logger(false) });
      await quiet.consumer.start();
      quiet.channel.deliver({ messageId: 't1' });
      await quiet.finishAll();
      expect(lines).toEqual([]);

      const verbose = setup({ log: logger(true) });
      await verbose.consumer.start();
      verbose.channel.deliver({ messageId: 't2' });
      await verbose.finishAll();
      expect(lines).toEqual([['task', { taskId: 't2', run: undefined, attempt: 1, outcome: 'completed', redelivered: false, ms: 0, error: undefined }]]);
    });
  });

  describe('drain', () => {
    it('cancels the consumer, hands back tasks not started as identical copies, and settles the started one before resolving', async () => {
      const { channel, consumer, pending, finishAll } = setup();
      await consumer.start();
      for (const id of ['t1', 't2', 't3']) channel.deliver({ messageId: id });
      await flush();
      let drained = false;
      const draining = consumer.drain().then(() => (drained = true));
      await flush();
      expect(channel.calls.slice(1)).toEqual(['cancel ctag-1', 'copy t2 → task_a', 'copy t3 → task_a', 'ack t2', 'ack t3']);
      expect(drained).toBe(false);

      // A delivery already on the wire when the cancel went out goes back too.
      channel.deliver({ messageId: 't4' });
      expect(pending).toHaveLength(1);
      await finishAll();
      await draining;
      expect(drained).toBe(true);
      expect(channel.calls.slice(6)).toEqual(['copy t4 → task_a', 'ack t4', 'result t1 completed → results.run1', 'ack t1']);
    });

    it('waits for every pending confirm and settles those tasks before resolving', async () => {
      const { channel, consumer, finishAll } = setup({ concurrency: 2 });
      channel.autoConfirm = false;
      await consumer.start();
      for (const id of ['t1', 't2', 't3']) channel.deliver({ messageId: id });
      await flush();
      await finishAll();
      expect(channel.unconfirmed.map((entry) => entry.messageId)).toEqual(['t1/1', 't2/1', 't3/1']);
      let drained = false;
      const draining = consumer.drain().then(() => (drained = true));
      await flush();
      expect(drained).toBe(false);

      channel.confirm(2);
      await flush();
      expect(drained).toBe(false);
      channel.confirm(1, new Error('message nacked'));
      await flush();
      // t3 goes back to the queue as a copy: the drain waits for that confirm too.
      expect(drained).toBe(false);
      channel.confirm(1);
      await draining;
      expect(channel.calls.slice(1)).toEqual([
        'result t1 completed → results.run1',
        'result t2 completed → results.run1',
        'result t3 completed → results.run1',
        'cancel ctag-1',
        'ack t1',
        'ack t2',
        'copy t3 → task_a',
        'ack t3',
      ]);
      expect(consumer.inFlight).toBe(0);
    });

    it('hands a copy back identical to the delivery (body, properties, headers), to the queue it came from', async () => {
      const { channel, consumer, stats, finishAll } = setup({ quarantine: true });
      await consumer.start();
      channel.deliver({ messageId: 't1', headers: { [ABANDONED_HEADER]: 1 } });
      const body = Buffer.from(JSON.stringify({ id: 't2', sentAt: 5 }));
      channel.deliver({ messageId: 't2', body, correlationId: 'c2', contentType: 'application/json', headers: { [ABANDONED_HEADER]: 1, x: 'y' }, otherProperties: { timestamp: 7, priority: 2 } });
      const draining = consumer.drain();
      await finishAll();
      await draining;
      const copy = channel.copiesTo('task_a.quarantine')[0];
      expect(copy.body.equals(body)).toBe(true);
      expect(copy.properties).toEqual({ timestamp: 7, priority: 2, messageId: 't2', correlationId: 'c2', replyTo: 'results.run1', contentType: 'application/json', headers: { [ABANDONED_HEADER]: 1, x: 'y' } });
      expect(channel.calls.filter((call) => call.includes('t2'))).toEqual(['copy t2 → task_a.quarantine', 'ack t2']);
      expect(stats.handedBack).toBe(1);
    });

    it('quarantines, not hands back, a redelivered task arriving while it drains (its abandoned delivery stays counted)', async () => {
      const { channel, consumer, finishAll } = setup();
      await consumer.start();
      await consumer.drain();
      channel.deliver({ messageId: 't1', redelivered: true });
      await finishAll();
      expect(channel.calls.slice(2)).toEqual(['copy t1 → task_a.quarantine', 'ack t1']);
    });

    it('when the drain runs out of time, hands started tasks back with INTERRUPTED_HEADER + 1 and publishes nothing when their work ends', async () => {
      const { channel, consumer, stats, pending, finishAll } = setup({ concurrency: 2 });
      await consumer.start();
      channel.deliver({ messageId: 't1', headers: { [INTERRUPTED_HEADER]: 1 } });
      channel.deliver({ messageId: 't2' });
      channel.deliver({ messageId: 't3' });
      await flush();
      void consumer.drain();
      await consumer.handBackUnfinished();
      expect(channel.calls.slice(1)).toEqual(['cancel ctag-1', 'copy t1 → task_a', 'copy t2 → task_a', 'copy t3 → task_a', 'ack t1', 'ack t2', 'ack t3']);
      expect(channel.copiesTo('task_a').map((copy) => copy.properties.headers)).toEqual([{ [INTERRUPTED_HEADER]: 2 }, { [INTERRUPTED_HEADER]: 1 }, {}]);
      expect([stats.interrupted, stats.handedBack]).toEqual([2, 1]);

      expect(pending).toHaveLength(2);
      await finishAll();
      expect(channel.calls).toHaveLength(8);
      expect(stats.processed).toBe(0);
    });

    it('a result after an interrupted delivery says redelivered; interruptions never count towards the delivery bound', async () => {
      const { channel, consumer, finishAll } = setup();
      await consumer.start();
      channel.deliver({ messageId: 't1', headers: { [INTERRUPTED_HEADER]: 5 } });
      await finishAll();
      expect(channel.resultsFor('t1')).toEqual([expect.objectContaining({ outcome: 'completed', redelivered: true, attempt: 1 })]);
    });

    it('resolves at once when nothing is held', async () => {
      const { channel, consumer } = setup();
      await consumer.start();
      await consumer.drain();
      expect(channel.calls).toEqual(['consume task_a', 'cancel ctag-1']);
    });

    it('every task gets exactly one result: settled here or returned unprocessed', async () => {
      const { channel, consumer, finishAll } = setup({ concurrency: 3 });
      await consumer.start();
      const ids = Array.from({ length: 10 }, (_, index) => `t${index}`);
      ids.forEach((id) => channel.deliver({ messageId: id }));
      await flush();
      const draining = consumer.drain();
      await finishAll();
      await draining;
      for (const id of ids) {
        const settled = channel.calls.filter((call) => call.startsWith(`ack ${id}`) || call.startsWith(`nack ${id}`));
        expect(settled, id).toEqual([`ack ${id}`]);
        const handedBack = channel.calls.includes(`copy ${id} → task_a`);
        expect(channel.resultsFor(id).length, id).toBe(handedBack ? 0 : 1);
      }
    });
  });

  describe('bounded deliveries', () => {
    it('moves a redelivered task to the quarantine queue unworked, counting the abandoned delivery, then acks it', async () => {
      const { channel, consumer, stats, pending, finishAll } = setup();
      await consumer.start();
      channel.deliver({ messageId: 't1', redelivered: true, headers: { other: 'kept' }, correlationId: 'c1' });
      await finishAll();
      expect(pending).toEqual([]);
      expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a.quarantine', 'ack t1']);
      expect(channel.published[0].properties).toEqual({ messageId: 't1', correlationId: 'c1', replyTo: 'results.run1', contentType: undefined, headers: { other: 'kept', [ABANDONED_HEADER]: 1 } });
      expect([stats.quarantined, stats.processed]).toEqual([1, 0]);
    });

    it.each([
      [{ [ABANDONED_HEADER]: 2 }, 3],
      [{ [ABANDONED_HEADER]: 1, [ATTEMPT_HEADER]: 2 }, 2],
      [{ [ATTEMPT_HEADER]: 3 }, 1],
    ])('dead-letters a redelivered task with %j (attempts and abandoned deliveries reach MAX_ATTEMPTS 3) as "worker crashed"', async (headers, abandoned) => {
      const log = recordingLogger();
      const { channel, consumer, stats, finishAll } = setup({ log });
      await consumer.start();
      channel.deliver({ messageId: 't1', redelivered: true, headers });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a.dlq', 'result t1 dead-lettered → results.run1', 'ack t1']);
      expect(channel.copiesTo('task_a.dlq')[0].properties.headers).toEqual({ ...headers, [ABANDONED_HEADER]: abandoned, [DEAD_LETTER_REASON_HEADER]: 'worker crashed' });
      expect(channel.resultsFor('t1')).toEqual([expect.objectContaining({ outcome: 'dead-lettered', error: 'worker crashed', redelivered: true })]);
      expect(stats.deadLettered).toBe(1);
      expect(log.lines.find(([, msg]) => msg === 'dead-lettered')?.[2]).toMatchObject({ taskId: 't1', reason: expect.stringContaining('worker crashed') });
    });

    it('dead-letters a malformed redelivered message as malformed, not as a crash', async () => {
      const { channel, consumer, finishAll } = setup();
      await consumer.start();
      channel.deliver({ messageId: 'junk', redelivered: true, body: Buffer.from('nope') });
      await finishAll();
      expect(channel.copiesTo('task_a.dlq')[0].properties.headers?.[DEAD_LETTER_REASON_HEADER]).toBe('malformed task: not JSON (4 bytes)');
    });

    it('the quarantine consumer works suspects from <queue>.quarantine; a redelivered suspect is quarantined again, counted once more', async () => {
      const { channel, consumer, stats, finishAll } = setup({ quarantine: true });
      await consumer.start();
      expect(channel.calls).toEqual(['consume task_a.quarantine']);
      channel.deliver({ messageId: 't1', headers: { [ABANDONED_HEADER]: 1 } });
      await finishAll();
      channel.deliver({ messageId: 't2', redelivered: true, headers: { [ABANDONED_HEADER]: 1 } });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'ack t1', 'copy t2 → task_a.quarantine', 'ack t2']);
      expect(channel.copiesTo('task_a.quarantine')[0].properties.headers).toEqual({ [ABANDONED_HEADER]: 2 });
      expect(channel.resultsFor('t1')[0]).toMatchObject({ outcome: 'completed', redelivered: true });
      expect([stats.completed, stats.quarantined]).toEqual([1, 1]);
    });

    it('a suspect that throws is retried in the task queue, keeping its abandoned count', async () => {
      const { channel, consumer, finishAll } = setup({ quarantine: true, defaults: { failRate: 1 } });
      await consumer.start();
      channel.deliver({ messageId: 't1', headers: { [ABANDONED_HEADER]: 1 } });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a', 'result t1 retrying → results.run1', 'ack t1']);
      expect(channel.copiesTo('task_a')[0].properties.headers).toEqual({ [ABANDONED_HEADER]: 1, [ATTEMPT_HEADER]: 2 });
    });

    it('a crash task kills its worker (crash() called) and is never settled by it', async () => {
      const { channel, consumer, crashes, stats, finishAll } = setup({ random: 0.1 });
      await consumer.start();
      channel.deliver({ messageId: 'bomb', body: Buffer.from(JSON.stringify({ id: 'bomb', sentAt: 0, crashRate: 0.5 })) });
      await finishAll();
      expect(crashes).toEqual(['SIGKILL']);
      expect(channel.calls.slice(1)).toEqual([]);
      expect(stats.processed).toBe(0);
    });

    it('a crash task takes down at most MAX_ATTEMPTS workers: the third abandoned delivery is dead-lettered', async () => {
      // Delivery 1 crashes a worker; its redelivery is quarantined (1), crashes again; quarantined (2), crashes; then dead-lettered.
      let headers: Record<string, unknown> = {};
      const crashed: number[] = [];
      for (let delivery = 1; delivery <= 10; delivery++) {
        const quarantine = delivery > 1;
        const { channel, consumer, crashes, finishAll } = setup({ random: 0, quarantine });
        await consumer.start();
        const body = Buffer.from(JSON.stringify({ id: 'bomb', sentAt: 0, crashRate: 1 }));
        channel.deliver({ messageId: 'bomb', body, headers });
        await finishAll();
        if (crashes.length > 0) {
          crashed.push(delivery);
          // The broker redelivers it, flagged, from the queue it was in.
          const next = setup({ random: 0, quarantine });
          await next.consumer.start();
          next.channel.deliver({ messageId: 'bomb', body, headers, redelivered: true });
          await next.finishAll();
          if (next.channel.copiesTo('task_a.dlq').length > 0) break;
          headers = next.channel.copiesTo('task_a.quarantine')[0].properties.headers ?? {};
        }
      }
      expect(crashed).toEqual([1, 2, 3]);
    });
  });

  describe('dropping', () => {
    const ofRun = (id: string, run: string, extra: Record<string, unknown> = {}) => ({ messageId: id, body: Buffer.from(JSON.stringify({ id, run, sentAt: 0, ...extra })) });

    it('acks and drops without work the tasks of a cancelled run, prefetched ones too, until `until`', async () => {
      const { channel, consumer, stats, cancellations, clock, pending, finishAll } = setup();
      await consumer.start();
      channel.deliver(ofRun('a1', 'A'));
      channel.deliver(ofRun('a2', 'A'));
      channel.deliver(ofRun('b1', 'B'));
      await flush();
      expect(pending).toHaveLength(1); // a1 at work, a2 and b1 prefetched
      cancellations.cancel('A', 5_000, clock.now);
      consumer.dropRun('A');
      expect(channel.calls.slice(1)).toEqual(['ack a2']);
      channel.deliver(ofRun('a3', 'A'));
      await finishAll();
      clock.now = 5_000;
      channel.deliver(ofRun('a4', 'A'));
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['ack a2', 'ack a3', 'result a1 completed → results.run1', 'ack a1', 'result b1 completed → results.run1', 'ack b1', 'result a4 completed → results.run1', 'ack a4']);
      expect([stats.dropped, stats.completed, stats.failed, stats.deadLettered]).toEqual([2, 3, 0, 0]);
      expect(channel.copiesTo('task_a.dlq')).toEqual([]);
    });

    it('drops a task whose deadline has passed, on arrival or while it waited its turn; a redelivered one too', async () => {
      const { channel, consumer, stats, clock, pending, finishAll } = setup();
      await consumer.start();
      channel.deliver(ofRun('late', 'A', { deadline: 999 }));
      channel.deliver(ofRun('t1', 'A', { deadline: 2_000 }));
      channel.deliver(ofRun('t2', 'A', { deadline: 1_500 }));
      channel.deliver({ ...ofRun('t3', 'A', { deadline: 900 }), redelivered: true });
      await flush();
      clock.now = 1_600; // t2 waited past its deadline behind t1
      pending.shift()?.();
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['ack late', 'ack t3', 'result t1 completed → results.run1', 'ack t2', 'ack t1']);
      expect([stats.dropped, stats.completed, stats.quarantined]).toEqual([3, 1, 0]);
    });
  });

  describe('unroutable results', () => {
    it('acks a task whose result queue is gone, counts the result unroutable and says so once per interval', async () => {
      const log = recordingLogger();
      const { channel, consumer, stats, clock, finishAll } = setup({ log });
      channel.missingQueues.add('results.run1');
      await consumer.start();
      channel.deliver({ messageId: 't1' });
      channel.deliver({ messageId: 't2' });
      await finishAll();
      clock.now += 10_000;
      channel.deliver({ messageId: 't3' });
      await finishAll();
      expect(channel.calls.filter((call) => call.startsWith('ack'))).toEqual(['ack t1', 'ack t2', 'ack t3']);
      expect([stats.unroutable, stats.completed, stats.abandoned]).toEqual([3, 3, 0]);
      expect(log.lines.filter(([level]) => level === 'warn').map(([, msg, fields]) => [msg, fields?.count])).toEqual([
        ['results dropped: their queue does not exist (the producer is gone?)', 1],
        ['results dropped: their queue does not exist (the producer is gone?)', 2],
      ]);
    });

    /** The worker's declare, as seen by the channel: recorded, and the queue exists again once it resolves. */
    const redeclaring = (channel: { calls: string[]; missingQueues: Set<string> }) => async (queue: string) => {
      channel.calls.push(`declare queues (${queue} missing)`);
      await Promise.resolve();
      channel.missingQueues.delete(queue);
    };

    it('when its dead-letter queue is gone, has the worker declare its queues, then hands the task back as a copy: not counted abandoned', async () => {
      let declare: (queue: string) => Promise<void> = async () => {};
      const { channel, consumer, stats, finishAll } = setup({ onQueueMissing: (queue) => declare(queue) });
      declare = redeclaring(channel);
      channel.missingQueues.add('task_a.dlq');
      await consumer.start();
      channel.deliver({ messageId: 'junk', body: Buffer.from('not json'), headers: { [ATTEMPT_HEADER]: 3 } });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['copy junk → task_a.dlq', 'result junk dead-lettered → results.run1', 'declare queues (task_a.dlq missing)', 'copy junk → task_a', 'ack junk']);
      expect(channel.copiesTo('task_a')[0].properties.headers).toEqual({ [ATTEMPT_HEADER]: 3 });
      expect([stats.deadLettered, stats.abandoned]).toEqual([0, 0]);
    });

    it('when its quarantine queue is gone, requeues a redelivered task only after the queues are declared again: no loop, no extra abandonment', async () => {
      let declare: (queue: string) => Promise<void> = async () => {};
      const { channel, consumer, stats, finishAll } = setup({ onQueueMissing: (queue) => declare(queue) });
      declare = redeclaring(channel);
      channel.missingQueues.add('task_a.quarantine');
      await consumer.start();
      channel.deliver({ messageId: 't1', redelivered: true, headers: { [ABANDONED_HEADER]: 1 } });
      await finishAll();
      expect(channel.calls.slice(1)).toEqual(['copy t1 → task_a.quarantine', 'declare queues (task_a.quarantine missing)', 'nack t1 requeue=true']);
      // The broker redelivers the requeued task: quarantined now, with the same count.
      channel.deliver({ messageId: 't1', redelivered: true, headers: { [ABANDONED_HEADER]: 1 } });
      await finishAll();
      expect(channel.calls.slice(4)).toEqual(['copy t1 → task_a.quarantine', 'ack t1']);
      expect(channel.copiesTo('task_a.quarantine').map((copy) => copy.properties.headers)).toEqual([{ [ABANDONED_HEADER]: 2 }, { [ABANDONED_HEADER]: 2 }]);
      expect(stats.quarantined).toBe(1);
    });
  });
});
