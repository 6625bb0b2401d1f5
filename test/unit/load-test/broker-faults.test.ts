import { describe, expect, it } from 'vitest';
import { Interrupt } from '../../../src/core/errors.js';
import { DEADLINE_GRACE_MS, runLoadTest, type LoadTestEvent, type LoadTestPlan } from '../../../src/core/load-test/run-load-test.js';
import { FakeClock, FakeTaskBroker, loadTestPlan, type FakeTaskBrokerOptions } from './fakes.js';

const plan = (overrides: Partial<LoadTestPlan> = {}) => loadTestPlan(overrides);

function setup(options: Partial<FakeTaskBrokerOptions> = {}) {
  const clock = new FakeClock();
  const broker = new FakeTaskBroker({ clock, confirmDelayMs: 1, ...options });
  const events: LoadTestEvent[] = [];
  const messages = () => events.flatMap((event) => (event.type === 'notice' || event.type === 'warning' ? [`${event.type}: ${event.message}`] : []));
  return { clock, broker, events, messages, deps: { broker, clock, progressIntervalMs: 0, onEvent: (event: LoadTestEvent) => events.push(event) } };
}

describe('the load tester survives the broker', () => {
  it('reconnects after a connection loss, declares and consumes its results queue again, republishes the unconfirmed tasks with the same ids', async () => {
    // Confirms held: the cut finds 20 publishes unconfirmed. Of those, the first 8 had reached the
    // queue (their results, 50 ms later, wait in the results queue); the other 12 were lost in the cut.
    const { broker, clock, deps, events, messages } = setup({
      confirmDelayMs: undefined,
      lostInCut: (n) => n >= 8,
      respond: () => [{ delayMs: 50, outcome: 'completed' }],
    });
    const start = clock.now();
    clock.schedule(5, () => broker.cut('CONNECTION_FORCED - broker forced connection closure'));
    clock.schedule(3000, () => broker.restore());
    // After the reconnect, confirms come again.
    clock.schedule(4000, () => broker.releaseConfirms());
    const result = await runLoadTest(deps, plan({ settleMs: 0 }));
    expect(broker.reconnects).toBeGreaterThan(0);
    expect(broker.calls.filter((call) => call === 'createResultsQueue qscale.results.r1')).toHaveLength(2);
    expect(broker.calls.filter((call) => call === 'consumeResults qscale.results.r1')).toHaveLength(2);
    // The 12 that did not complete meanwhile went again with the same ids; the 8 that did, not.
    const ids = broker.published.map(({ task }) => task.id);
    expect(ids.slice(20)).toEqual(ids.slice(8, 20));
    expect(result.overall).toMatchObject({ sent: 20, confirmed: 12, unconfirmed: 8, recovered: 20, completed: 20, lost: 0, pending: 0, duplicates: 0 });
    expect(result.broker).toMatchObject({ outages: 1, republished: 12 });
    expect(result.broker.downMs).toBeGreaterThanOrEqual(2995);
    // Every confirm callback was called, the cut-off ones included.
    expect(broker.settledConfirms).toBe(broker.published.length);
    expect(messages()[0]).toBe(
      'warning: broker amqp://guest:***@127.0.0.1:5672 unreachable (CONNECTION_FORCED - broker forced connection closure); reconnecting for up to 60s',
    );
    expect(messages()[1]).toMatch(/^notice: broker amqp:\/\/guest:\*\*\*@127.0.0.1:5672 is back after 3(\.\d)?s; resuming$/);
    // While down, the progress line keeps counting the outage.
    const downFor = events.flatMap((event) => (event.type === 'progress' && event.progress.brokerDownMs !== undefined ? [event.progress.brokerDownMs] : []));
    expect(downFor.length).toBeGreaterThan(3);
    expect(Math.max(...downFor)).toBeGreaterThan(2000);
    expect(clock.now() - start).toBeLessThan(5000);
  });

  it('gives up after --broker-timeout with one error naming the broker, every confirm settled, never waiting out --timeout', async () => {
    const { broker, clock, deps } = setup({ confirmDelayMs: undefined });
    clock.schedule(5, () => broker.cut());
    const start = clock.now();
    const error = await runLoadTest(deps, plan({ tasksPerQueue: 600, brokerTimeoutMs: 5000, timeoutMs: 600_000 })).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'BROKER_UNREACHABLE', exitCode: 1 });
    expect(error.message).toBe('the broker at amqp://guest:***@127.0.0.1:5672 has been unreachable for 5s; giving up the run');
    expect(broker.published.length).toBeGreaterThanOrEqual(500);
    expect(broker.settledConfirms).toBe(broker.published.length);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5000);
    expect(clock.now() - start).toBeLessThan(7000);
  });

  it('reports the seconds publishing was blocked by an alarm, and keeps collecting meanwhile', async () => {
    const { broker, clock, deps, messages } = setup({ respond: () => [{ delayMs: 30_000, outcome: 'completed' }] });
    clock.schedule(100, () => broker.block());
    clock.schedule(20_100, () => broker.unblock());
    const result = await runLoadTest(deps, plan());
    expect(result.broker.publishBlockedMs).toBe(20_000);
    expect(result.overall).toMatchObject({ completed: 20, lost: 0, duplicates: 0 });
    expect(messages()).toContain('warning: broker amqp://guest:***@127.0.0.1:5672 blocks publishing (low on memory); results are still collected');
  });

  it('counts a task confirmed, then gone from the broker without a result, as lost — and only that', async () => {
    // n = 3: the worker took it and its result never came (body unreadable); the broker no longer holds it.
    const { deps } = setup({ respond: (_task, _queue, n) => (n === 3 ? [{ delayMs: 10, outcome: 'completed', body: 'garbage' }] : n === 4 ? [] : [{ delayMs: 10, outcome: 'completed' }]) });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 6, timeoutMs: 1000 }));
    expect(result.overall).toMatchObject({ sent: 6, confirmed: 6, completed: 4, pending: 1, lost: 1 });
    expect(result.unexpectedResults).toBe(1);
  });

  it('reports dead-lettered "worker crashed" results as failed, with the reason', async () => {
    const { deps } = setup({ respond: (_task, _queue, n) => (n < 2 ? [{ delayMs: 10, outcome: 'dead-lettered', error: 'worker crashed' }] : [{ delayMs: 10, outcome: 'completed' }]) });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 5, crashRate: 0.1 }));
    expect(result.overall).toMatchObject({ completed: 3, failed: 2, lost: 0, failureReasons: { 'worker crashed': 2 } });
    expect(result.settings.crashRate).toBe(0.1);
  });

  it('--crash-rate picks whole tasks as crash tasks (crashRate 1 on every delivery), the others none', async () => {
    const { deps, broker } = setup();
    const draws = [0.5, 0.01, 0.9, 0.02, 0.7];
    const result = await runLoadTest({ ...deps, random: () => draws.shift() ?? 1 }, plan({ tasksPerQueue: 5, crashRate: 0.05 }));
    expect(broker.published.map((message) => message.task.crashRate)).toEqual([undefined, 1, undefined, 1, undefined]);
    expect(result.settings.crashRate).toBe(0.05);
  });

  it('marks duplicates final only when the task queues hold nothing at the end', async () => {
    const finalRun = await runLoadTest(setup().deps, plan({ tasksPerQueue: 3 }));
    expect(finalRun.duplicatesStatus).toBe('final');
    const { deps } = setup({ respond: (_task, _queue, n) => (n === 0 ? [] : [{ delayMs: 10, outcome: 'completed' }]) });
    const provisional = await runLoadTest(deps, plan({ tasksPerQueue: 3, timeoutMs: 1000 }));
    expect(provisional.duplicatesStatus).toBe('provisional');
    // Workers that do not answer report-state, and no management API: nobody can say what is unacked.
    const blindSetup = setup({ unackedKnown: false });
    blindSetup.broker.workerReplies = 0;
    const blind = await runLoadTest(blindSetup.deps, plan({ tasksPerQueue: 3 }));
    expect(blind.duplicatesStatus).toBe('provisional');
    expect(blind.broker.unackedKnown).toBe(false);
    // The same workers with the management API: its unacked count stands in.
    const apiSetup = setup();
    apiSetup.broker.workerReplies = 0;
    expect((await runLoadTest(apiSetup.deps, plan({ tasksPerQueue: 3 }))).duplicatesStatus).toBe('final');
  });

  it('declares its results queue to expire after the run, so a dead tester leaves nothing behind', async () => {
    const { broker, deps } = setup();
    await runLoadTest(deps, plan({ tasksPerQueue: 10, timeoutMs: 30_000 }));
    // publishing allowance (10 × 2 ms) + timeout + 60 s
    expect(broker.resultsQueueExpires).toEqual([20 + 30_000 + 60_000]);
  });
});

describe('a run that ends early', () => {
  it('on SIGTERM: returns the partial accounting (pending from the broker), broadcasts cancel-run', async () => {
    const controller = new AbortController();
    const { broker, clock, deps } = setup({ respond: (_task, _queue, n) => (n < 5 ? [{ delayMs: 10, outcome: 'completed' }] : []) });
    clock.schedule(500, () => controller.abort(new Interrupt('SIGTERM')));
    const result = await runLoadTest({ ...deps, signal: controller.signal }, plan({ tasksPerQueue: 20 }));
    expect(result).toMatchObject({ outcome: 'interrupted', interrupted: 'SIGTERM', timedOut: false });
    expect(result.overall).toMatchObject({ sent: 20, confirmed: 20, completed: 5, pending: 15, lost: 0 });
    const deadline = broker.published[0].task.deadline as number;
    expect(broker.controls).toEqual([{ type: 'cancel-run', run: 'r1', until: deadline }]);
    expect(broker.calls).toContain('deleteResultsQueue qscale.results.r1');
  });

  it('on Ctrl-C during a slow --rate: stops at once, not at the next scheduled send', async () => {
    const controller = new AbortController();
    const { broker, clock, deps } = setup();
    const start = clock.now();
    clock.schedule(1500, () => controller.abort(new Interrupt('SIGINT')));
    const result = await runLoadTest({ ...deps, signal: controller.signal }, plan({ tasksPerQueue: 10, ratePerSecond: 0.1 }));
    expect(result.outcome).toBe('interrupted');
    expect(broker.published).toHaveLength(1);
    // The count, the cancel and the 1 s for results in flight: nowhere near the 10 s until the next send.
    expect(clock.now() - start).toBeLessThan(5000);
  });

  it('on timeout: every task carries the run end plus the grace as its deadline, and the workers are told to drop the rest', async () => {
    const { broker, clock, deps } = setup({ respond: () => [] });
    const start = clock.now();
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 10, timeoutMs: 3000 }));
    const runEnd = start + 10 * 2 + 3000;
    expect(new Set(broker.published.map(({ task }) => task.deadline))).toEqual(new Set([runEnd + DEADLINE_GRACE_MS]));
    expect(broker.controls).toEqual([{ type: 'cancel-run', run: 'r1', until: runEnd + DEADLINE_GRACE_MS }]);
    expect(result.overall).toMatchObject({ pending: 10, lost: 0 });
  });

  it('a finished run broadcasts nothing', async () => {
    const { broker, deps } = setup();
    await runLoadTest(deps, plan());
    expect(broker.controls).toEqual([]);
  });
});

describe('a run that starts on a busy queue', () => {
  it('takes no lagging unacked figure for a backlog: only messages ready in the queue wait ahead of the run', async () => {
    const { deps, messages } = setup({ staleUnacked: { task_a: 20 } });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 5 }));
    expect(messages().filter((message) => message.includes('already holds'))).toEqual([]);
    expect(result.backlog).toEqual([]);
    expect(result.overall).toMatchObject({ completed: 5, lost: 0, pending: 0 });
  });

  it('warns about the backlog, records it, and lets the default timeout count it', async () => {
    const { deps, messages } = setup({ backlog: { task_a: 1938 } });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 5, timeoutMs: undefined, workMs: 20 }));
    expect(messages()).toContain('warning: task_a already holds 1,938 messages; results will wait behind them');
    expect(result.backlog).toEqual([{ queue: 'task_a', messages: 1938, consumers: 1 }]);
    expect(result.settings.timeoutMs).toBe(30_000 + (5 + 1938) * 20);
  });

  it('says why a timed-out run still had pending tasks: the backlog ahead', async () => {
    // The foreign backlog is never worked in this fake: our tasks wait behind it.
    const { deps } = setup({ backlog: { task_a: 1000 }, respond: () => [] });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 100, timeoutMs: 3000 }));
    expect(result.outcome).toBe('timed-out');
    expect(result.overall).toMatchObject({ pending: 100, lost: 0 });
    expect(result.incomplete).toEqual({ reason: 'backlog-ahead', suggestedTimeoutMs: 30_000 + 1100 * 10 });
  });

  it('--purge empties the target queues first', async () => {
    const { broker, deps, messages } = setup({ backlog: { task_a: 1000 } });
    const result = await runLoadTest(deps, plan({ purge: true }));
    expect(broker.calls).toContain('purgeQueue task_a');
    expect(messages()).toContain('notice: purged task_a: 1,000 messages removed');
    expect(result.backlog).toEqual([]);
    expect(result.settings.purged).toBe(true);
  });

  it('warns about a queue with no consumer; its tasks end pending, not lost, and the reason says so', async () => {
    const { deps, messages } = setup({ consumers: () => 0, respond: () => [] });
    const result = await runLoadTest(deps, plan({ tasksPerQueue: 10, timeoutMs: 3000 }));
    expect(messages()).toContain('warning: task_a has no consumer: its tasks will wait in the queue');
    expect(result.overall).toMatchObject({ pending: 10, lost: 0 });
    expect(result.incomplete?.reason).toBe('no-consumers');
  });

  it('--require-consumers refuses to publish to a queue with no consumer', async () => {
    const { broker, deps } = setup({ consumers: () => 0 });
    await expect(runLoadTest(deps, plan({ requireConsumers: true }))).rejects.toMatchObject({
      code: 'BROKER_FAILED',
      message: 'task_a has no consumer: its tasks will wait in the queue',
      hint: 'start its workers (`qscale up`), or drop --require-consumers',
    });
    expect(broker.published).toEqual([]);
  });
});
