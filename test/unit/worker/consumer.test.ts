import { describe, expect, it } from 'vitest';
import { TaskConsumer, WorkerStats } from '../../../templates/worker/src/consumer.js';
import type { Logger } from '../../../templates/worker/src/log.js';
import { ATTEMPT_HEADER } from '../../../templates/worker/src/protocol.js';
import type { WorkPlan } from '../../../templates/worker/src/task-work.js';
import { deferred, FakeChannel, flush } from './fake-channel.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, enabled: () => false };

function setup(options: { concurrency?: number; maxUnconfirmed?: number; defaults?: Partial<WorkPlan>; random?: number; log?: Logger } = {}) {
  const channel = new FakeChannel();
  const stats = new WorkerStats();
  const pending: Array<() => void> = [];
  const consumer = new TaskConsumer(
    { queue: 'task_a', workerId: 'abc123', concurrency: options.concurrency ?? 1, maxUnconfirmed: options.maxUnconfirmed ?? 10, maxAttempts: 3, resultsQueue: 'qscale.results', defaults: { workMs: 100, cpu: false, failRate: 0, ...options.defaults } },
    {
      channel,
      stats,
      log: options.log ?? silent,
      now: () => 1_000,
      work: {
        // Work finishes when the test says so.
        sleep: () => {
          const work = deferred();
          pending.push(work.resolve);
          return work.promise;
        },
        burnCpu: () => {},
        random: () => options.random ?? 0.5,
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
  return { channel, stats, consumer, pending, finishAll };
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
    channel.deliver({ messageId: 't1', replyTo: undefined, redelivered: true, body: Buffer.from(JSON.stringify({ id: 't1', run: 'r9', sentAt: 0 })) });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['result t1 completed → qscale.results', 'ack t1']);
    expect(channel.resultsFor('t1')[0]).toMatchObject({ run: 'r9', redelivered: true });
  });

  it('retries a failed task as a copy with the next attempt number, then acks the original', async () => {
    const { channel, consumer, finishAll } = setup({ defaults: { failRate: 1 } });
    await consumer.start();
    channel.deliver({ messageId: 't1', headers: { [ATTEMPT_HEADER]: 2, other: 'kept' } });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['republish t1 → task_a', 'result t1 retrying → results.run1', 'ack t1']);
    expect(channel.published[0].properties).toMatchObject({ messageId: 't1', replyTo: 'results.run1', headers: { [ATTEMPT_HEADER]: 3, other: 'kept' } });
    expect(channel.resultsFor('t1')[0]).toMatchObject({ attempt: 2, outcome: 'retrying', error: 'simulated failure (failRate 1)' });
  });

  it('dead-letters a task failing its last attempt with nack(requeue=false)', async () => {
    const { channel, consumer, stats, finishAll } = setup();
    await consumer.start();
    channel.deliver({ messageId: 't1', headers: { [ATTEMPT_HEADER]: 3 }, body: Buffer.from(JSON.stringify({ id: 't1', sentAt: 0, failRate: 1 })) });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['result t1 dead-lettered → results.run1', 'nack t1 requeue=false']);
    expect([stats.completed, stats.retried, stats.deadLettered]).toEqual([0, 0, 1]);
  });

  it('dead-letters a malformed message', async () => {
    const { channel, consumer, finishAll } = setup();
    await consumer.start();
    channel.deliver({ messageId: 'junk', body: Buffer.from('not json') });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual(['result junk dead-lettered → results.run1', 'nack junk requeue=false']);
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

    it('returns a task to the queue when the broker refuses its result, and counts nothing done', async () => {
      const { channel, consumer, stats, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 't1' });
      await finishAll();
      channel.confirm(1, new Error('message nacked'));
      expect(channel.calls.slice(1)).toEqual(['result t1 completed → results.run1', 'nack t1 requeue=true']);
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
      expect(acks(channel.calls)).toEqual(['ack t1', 'nack t2 requeue=true']);
      expect([stats.retried, stats.abandoned]).toEqual([1, 1]);
    });

    it('dead-letters only after the result is confirmed', async () => {
      const { channel, consumer, finishAll } = setup();
      channel.autoConfirm = false;
      await consumer.start();
      channel.deliver({ messageId: 'junk', body: Buffer.from('not json') });
      await finishAll();
      expect(acks(channel.calls)).toEqual([]);
      channel.confirm();
      expect(acks(channel.calls)).toEqual(['nack junk requeue=false']);
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
    it('cancels the consumer, requeues tasks not started, and settles the started one before resolving', async () => {
      const { channel, consumer, pending, finishAll } = setup();
      await consumer.start();
      for (const id of ['t1', 't2', 't3']) channel.deliver({ messageId: id });
      await flush();
      let drained = false;
      const draining = consumer.drain().then(() => (drained = true));
      await flush();
      expect(channel.calls.slice(1)).toEqual(['cancel ctag-1', 'nack t2 requeue=true', 'nack t3 requeue=true']);
      expect(drained).toBe(false);

      // A delivery already on the wire when the cancel went out goes back too.
      channel.deliver({ messageId: 't4' });
      expect(pending).toHaveLength(1);
      await finishAll();
      await draining;
      expect(drained).toBe(true);
      expect(channel.calls.slice(4)).toEqual(['nack t4 requeue=true', 'result t1 completed → results.run1', 'ack t1']);
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
      await draining;
      expect(channel.calls.slice(1)).toEqual([
        'result t1 completed → results.run1',
        'result t2 completed → results.run1',
        'result t3 completed → results.run1',
        'cancel ctag-1',
        'ack t1',
        'ack t2',
        'nack t3 requeue=true',
      ]);
      expect(consumer.inFlight).toBe(0);
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
        const settled = channel.calls.filter((call) => call === `ack ${id}` || call === `nack ${id} requeue=true`);
        expect(settled, id).toHaveLength(1);
        expect(channel.resultsFor(id).length, id).toBe(settled[0].startsWith('ack') ? 1 : 0);
      }
    });
  });
});
