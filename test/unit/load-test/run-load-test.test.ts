import { describe, expect, it } from 'vitest';
import { QscaleError } from '../../../src/core/errors.js';
import { runLoadTest, scheduledOffsetMs, type LoadTestEvent, type LoadTestPlan } from '../../../src/core/load-test/run-load-test.js';
import { FakeClock, FakeTaskBroker, loadTestPlan, type FakeTaskBrokerOptions } from './fakes.js';

const plan = (overrides: Partial<LoadTestPlan> = {}) => loadTestPlan({ queues: ['task_a', 'task_b'], tasksPerQueue: 5, timeoutMs: 10_000, ...overrides });

function setup(options: Partial<FakeTaskBrokerOptions> = {}) {
  const clock = new FakeClock();
  const broker = new FakeTaskBroker({ clock, confirmDelayMs: 1, ...options });
  const events: LoadTestEvent[] = [];
  return { clock, broker, events, deps: { broker, clock, onEvent: (event: LoadTestEvent) => events.push(event) } };
}

describe('runLoadTest against an in-memory broker', () => {
  it('accounts for every task, uses its own results queue and leaves the task queues alone', async () => {
    const { broker, deps } = setup();
    const result = await runLoadTest(deps, plan());
    expect(result.overall).toMatchObject({ sent: 10, confirmed: 10, completed: 10, failed: 0, lost: 0, duplicates: 0 });
    expect(result.queues.map((queue) => [queue.queue, queue.completed])).toEqual([
      ['task_a', 5],
      ['task_b', 5],
    ]);
    expect(result.timedOut).toBe(false);
    expect(broker.calls).toEqual([
      'ensureTaskQueue task_a',
      'ensureTaskQueue task_b',
      'createResultsQueue qscale.results.r1',
      'consumeResults qscale.results.r1',
      // What the workers hold, asked at the end (one consumer per queue in this fake).
      'askWorkersHeld 2',
      'cancel qscale.results.r1',
      'deleteResultsQueue qscale.results.r1',
    ]);
  });

  it('publishes the wire contract: unique ids, run, sentAt, replyTo, work settings, payload', async () => {
    const { broker, deps, clock } = setup();
    const start = clock.now();
    await runLoadTest(deps, plan({ tasksPerQueue: 3, payloadSize: 16, workMs: { min: 50, max: 200 }, failRate: 0.25 }));
    const ids = broker.published.map(({ task }) => task.id);
    expect(new Set(ids).size).toBe(6);
    expect(broker.published.map(({ queue }) => queue)).toEqual(['task_a', 'task_b', 'task_a', 'task_b', 'task_a', 'task_b']);
    for (const { task, replyTo } of broker.published) {
      expect(replyTo).toBe('qscale.results.r1');
      expect(task).toMatchObject({ run: 'r1', workMs: { min: 50, max: 200 }, failRate: 0.25, payload: 'x'.repeat(16) });
      expect(task.sentAt).toBeGreaterThanOrEqual(start);
    }
  });

  it('counts duplicates, failures after retries and lost tasks exactly', async () => {
    const { deps } = setup({
      respond: (_task, _queue, n) => {
        if (n === 0) return [{ delayMs: 10, outcome: 'completed', workerId: 'w1' }, { delayMs: 30, outcome: 'completed', workerId: 'w2', redelivered: true }];
        if (n === 1) return [{ delayMs: 10, outcome: 'retrying' }, { delayMs: 20, outcome: 'retrying' }, { delayMs: 30, outcome: 'dead-lettered' }];
        if (n === 2) return [];
        return [{ delayMs: 10, outcome: 'completed', workerId: n % 2 ? 'w1' : 'w2' }];
      },
    });
    const result = await runLoadTest(deps, plan({ timeoutMs: 5000 }));
    // n = 2 got no result and the broker still holds it: pending, not lost.
    expect(result.overall).toMatchObject({ sent: 10, completed: 8, failed: 1, pending: 1, lost: 0, duplicates: 1, duplicatedTasks: 1, retries: 2, redelivered: 1 });
    // n = 0 completes on w1, then again on w2; n = 1 fails three times on w1; 3..9 alternate w1 (odd), w2 (even).
    expect(result.overall.workers).toEqual({ w1: { completed: 5, failedAttempts: 3 }, w2: { completed: 4, failedAttempts: 0 } });
    expect(result.timedOut).toBe(true);
  });

  it('waits out the settle time and catches a late duplicate', async () => {
    const { deps } = setup({
      respond: (_task, _queue, n) => (n === 3 ? [{ delayMs: 10, outcome: 'completed' }, { delayMs: 60, outcome: 'completed', redelivered: true }] : [{ delayMs: 10, outcome: 'completed' }]),
    });
    const caught = await runLoadTest(deps, plan({ settleMs: 100 }));
    expect(caught.overall.duplicates).toBe(1);
    const { deps: again } = setup({
      respond: (_task, _queue, n) => (n === 3 ? [{ delayMs: 10, outcome: 'completed' }, { delayMs: 500, outcome: 'completed', redelivered: true }] : [{ delayMs: 10, outcome: 'completed' }]),
    });
    const missed = await runLoadTest(again, plan({ settleMs: 100 }));
    expect(missed.overall.duplicates).toBe(0);
  });

  it('stops waiting at the timeout and reports what the broker still holds as pending, not lost', async () => {
    const { deps, clock } = setup({ respond: (_task, queue) => (queue === 'task_b' ? [] : [{ delayMs: 10, outcome: 'completed' }]) });
    const start = clock.now();
    const result = await runLoadTest(deps, plan({ timeoutMs: 7000 }));
    expect(result.timedOut).toBe(true);
    expect(result.outcome).toBe('timed-out');
    expect(result.queues.map(({ queue, completed, pending, lost }) => ({ queue, completed, pending, lost }))).toEqual([
      { queue: 'task_a', completed: 5, pending: 0, lost: 0 },
      { queue: 'task_b', completed: 0, pending: 5, lost: 0 },
    ]);
    expect(result.incomplete).toEqual({ reason: 'timeout-too-short', suggestedTimeoutMs: 31_000 });
    expect(result.broker.heldAtEnd).toEqual({ task_a: 0, task_b: 5 });
    expect(clock.now() - start).toBeGreaterThanOrEqual(7000);
    // + 1 s for results already on their way when the broker was counted.
    expect(clock.now() - start).toBeLessThan(8100);
  });

  it('never has more than maxUnconfirmed messages unconfirmed', async () => {
    const { broker, deps } = setup({ confirmDelayMs: 5 });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 100, maxUnconfirmed: 7 }));
    expect(broker.maxUnconfirmed).toBe(7);
    expect(result.overall).toMatchObject({ sent: 200, confirmed: 200, completed: 200 });
  });

  it('refills the whole window at once when a batch of confirms arrives', async () => {
    // No results: only confirms can wake the publisher.
    const { broker, deps } = setup({ confirmDelayMs: undefined, respond: () => [] });
    const run = runLoadTest(deps, plan({ queues: ['task_a'], tasksPerQueue: 12, maxUnconfirmed: 4 }));
    const publishedAfterEachBatch: number[] = [];
    // Each batch of confirms arrives 1 ms after the previous one (timers fire once all else is idle).
    for (let batch = 1; batch <= 3; batch++) {
      deps.clock.schedule(batch, () => {
        publishedAfterEachBatch.push(broker.published.length);
        broker.releaseConfirms();
      });
    }
    const result = await run;
    expect(publishedAfterEachBatch).toEqual([4, 8, 12]);
    expect(broker.maxUnconfirmed).toBe(4);
    expect(result.overall).toMatchObject({ sent: 12, confirmed: 12, completed: 0, pending: 12, lost: 0 });
  });

  it('arms one timer for the whole wait for results, not one per result', async () => {
    const { clock, deps } = setup();
    await runLoadTest(deps, plan({ tasksPerQueue: 200, timeoutMs: 10_000, settleMs: 100 }));
    // The run's end (publishing allowance of 2 ms a task + timeout), the settle time, then only
    // the bounds on the calls made after the run (count, unsubscribe, delete).
    expect(clock.sleeps.slice(0, 2)).toEqual([800 + 10_000, 100]);
    expect(clock.sleeps.length).toBeLessThan(8);
  });

  it('stops on abort while the window is full and no confirm comes', async () => {
    const controller = new AbortController();
    const { broker, deps } = setup({ confirmDelayMs: undefined });
    const run = runLoadTest({ ...deps, signal: controller.signal }, plan({ maxUnconfirmed: 3 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.published).toHaveLength(3);
    controller.abort();
    const result = await run;
    expect(result.outcome).toBe('interrupted');
    expect(broker.published).toHaveLength(3);
    expect(broker.calls).toContain('deleteResultsQueue qscale.results.r1');
  });

  it('times out when confirms never come, even with every result in', async () => {
    const { deps } = setup({ confirmDelayMs: undefined });
    const result = await runLoadTest(deps, plan({ timeoutMs: 5000 }));
    expect(result.timedOut).toBe(true);
    expect(result.overall).toMatchObject({ sent: 10, confirmed: 0, unconfirmed: 10, completed: 10, lost: 0 });
    // Nothing pending: the run timed out on confirms alone.
    expect(result.incomplete).toBeNull();
  });

  it("waits for 'drain' after the write buffer fills", async () => {
    const { broker, deps } = setup({ accepted: (n) => n % 10 !== 9, drainDelayMs: 3 });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 50 }));
    expect(broker.publishedWhileFull).toBe(0);
    expect(result.overall.completed).toBe(100);
  });

  it('publishes a refused task again with the same id', async () => {
    const { broker, deps } = setup({ nack: (n) => n === 4 });
    const result = await runLoadTest(deps, plan({ timeoutMs: 60_000 }));
    expect(result.overall).toMatchObject({ sent: 10, confirmed: 10, unconfirmed: 0, completed: 10, lost: 0, duplicates: 0 });
    expect(broker.published).toHaveLength(11);
    expect(broker.published[10].task.id).toBe(broker.published[4].task.id);
    expect(result.broker.republished).toBe(1);
  });

  it('counts a task the broker refuses every time as unconfirmed, and does not wait for it', async () => {
    const { broker, deps } = setup({ nack: (n) => broker.published[n].task.id === 'r1-0-2' });
    const result = await runLoadTest(deps, plan({ timeoutMs: 60_000 }));
    expect(broker.published.filter(({ task }) => task.id === 'r1-0-2')).toHaveLength(5);
    expect(result.overall).toMatchObject({ sent: 10, confirmed: 9, unconfirmed: 1, completed: 9, pending: 0, lost: 0 });
    expect(result.timedOut).toBe(false);
  });

  it('paces sends at --rate per queue on the injected clock, without drift', async () => {
    const { broker, deps, clock } = setup();
    const start = clock.now();
    await runLoadTest(deps, plan({ tasksPerQueue: 6, ratePerSecond: 20 }));
    expect(broker.published.map(({ task }) => task.sentAt - start)).toEqual([0, 0, 50, 50, 100, 100, 150, 150, 200, 200, 250, 250]);
  });

  it('paces fractional rates by schedule, not by accumulated sleeps', () => {
    expect([0, 1, 2, 3].map((k) => scheduledOffsetMs(k, 3))).toEqual([0, 1000 / 3, 2000 / 3, 1000]);
    expect(scheduledOffsetMs(5, undefined)).toBe(0);
  });

  it('evaluates thresholds on the overall result', async () => {
    const { deps } = setup({ respond: () => [{ delayMs: 40, outcome: 'completed' }] });
    const result = await runLoadTest(
      deps,
      plan({
        thresholds: [
          { metric: 'p95', flag: '--max-p95 30ms', comparison: '<=', limit: 30 },
          { metric: 'lost', flag: '--max-lost 0', comparison: '<=', limit: 0 },
        ],
      }),
    );
    expect(result.thresholds.map(({ flag, passed, actual }) => ({ flag, passed, actual }))).toEqual([
      { flag: '--max-p95 30ms', passed: false, actual: result.overall.latencyMs.p95 },
      { flag: '--max-lost 0', passed: true, actual: 0 },
    ]);
    expect(result.overall.latencyMs.p95).toBeGreaterThan(30);
    expect(result.passed).toBe(false);
  });

  it('emits phases and progress, ending with everything completed', async () => {
    const { deps, events } = setup();
    await runLoadTest(deps, plan());
    const phases = events.filter((event) => event.type === 'phase').map((event) => (event as { phase: string }).phase);
    expect(phases).toEqual(['publishing', 'collecting', 'settling', 'done']);
    const last = events.filter((event) => event.type === 'progress').at(-1);
    expect(last).toMatchObject({ progress: { total: 10, sent: 10, confirmed: 10, completed: 10 } });
  });

  it('stops on abort and still deletes its results queue', async () => {
    const controller = new AbortController();
    const { broker, deps } = setup({ respond: () => [] });
    const run = runLoadTest({ ...deps, signal: controller.signal }, plan({ timeoutMs: 60_000 }));
    setImmediate(() => controller.abort());
    const result = await run;
    expect(result.outcome).toBe('interrupted');
    expect(broker.calls).toContain('deleteResultsQueue qscale.results.r1');
  });

  it('wraps a failing publish in a broker error', async () => {
    const { broker, deps } = setup();
    broker.publishTask = () => {
      throw new Error('Channel closed');
    };
    const error = await runLoadTest(deps, plan()).catch((caught) => caught);
    expect(error).toBeInstanceOf(QscaleError);
    expect(error).toMatchObject({ code: 'BROKER_FAILED', message: 'publishing to task_a failed: Channel closed' });
    expect(broker.calls).toContain('deleteResultsQueue qscale.results.r1');
  });
});
