import { describe, expect, it } from 'vitest';
import { TaskConsumer, WorkerStats } from '../../../templates/worker/src/consumer.js';
import type { Logger } from '../../../templates/worker/src/log.js';
import { ATTEMPT_HEADER } from '../../../templates/worker/src/protocol.js';
import type { WorkPlan } from '../../../templates/worker/src/task-work.js';
import { deferred, FakeChannel, flush } from './fake-channel.js';

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function setup(options: { concurrency?: number; defaults?: Partial<WorkPlan>; random?: number } = {}) {
  const channel = new FakeChannel();
  const stats = new WorkerStats();
  const pending: Array<() => void> = [];
  const consumer = new TaskConsumer(
    { queue: 'task_a', workerId: 'abc123', concurrency: options.concurrency ?? 1, maxAttempts: 3, resultsQueue: 'qscale.results', defaults: { workMs: 100, cpu: false, failRate: 0, ...options.defaults } },
    {
      channel,
      stats,
      log: silent,
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
    while (pending.length > 0) {
      pending.splice(0).forEach((resolve) => resolve());
      await flush();
    }
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

  it('leaves a task unsettled when its result cannot be published (the broker redelivers it)', async () => {
    const { channel, consumer, stats, finishAll } = setup();
    await consumer.start();
    channel.failPublish = true;
    channel.deliver({ messageId: 't1' });
    await finishAll();
    expect(channel.calls.slice(1)).toEqual([]);
    expect([stats.processed, stats.abandoned]).toEqual([0, 1]);
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
