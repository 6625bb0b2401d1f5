import { describe, expect, it } from 'vitest';
import type { TaskResult } from '../../../templates/worker/src/protocol.js';
import { LatencyRecorder, RunLedger, asTaskResult } from '../../../src/core/load-test/accounting.js';

const T0 = 1_000_000;

function result(taskId: string, outcome: TaskResult['outcome'], extra: Partial<TaskResult> = {}): TaskResult {
  return { taskId, queue: 'q', workerId: 'w1', startedAt: T0, finishedAt: T0 + 10, attempt: 1, redelivered: false, outcome, ...extra };
}

type Step = [taskId: string, outcome: TaskResult['outcome'], extra?: Partial<TaskResult>];

/** Sends tasks t0..t(n-1) to queue q at T0 (each confirmed), then books each result one ms apart. */
function account(sent: number, steps: Step[]) {
  const ledger = new RunLedger(['q']);
  for (let i = 0; i < sent; i++) {
    ledger.recordSent('q', `t${i}`, T0);
    ledger.recordConfirmed(`t${i}`);
  }
  steps.forEach(([taskId, outcome, extra], index) => ledger.recordResult(result(taskId, outcome, extra), T0 + 100 + index));
  const { overall } = ledger.report();
  return { ledger, overall, pick: { completed: overall.completed, failed: overall.failed, lost: overall.lost, duplicates: overall.duplicates, duplicatedTasks: overall.duplicatedTasks, retries: overall.retries } };
}

describe('RunLedger: what happened to each task', () => {
  const cases: Array<{ name: string; sent: number; steps: Step[]; expected: Record<string, number> }> = [
    { name: 'every task completed once', sent: 3, steps: [['t0', 'completed'], ['t1', 'completed'], ['t2', 'completed']], expected: { completed: 3, failed: 0, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 0 } },
    { name: 'no result at all: lost', sent: 3, steps: [['t0', 'completed']], expected: { completed: 1, failed: 0, lost: 2, duplicates: 0, duplicatedTasks: 0, retries: 0 } },
    {
      name: 'a task completed three times: two duplicates, one duplicated task',
      sent: 2,
      steps: [['t0', 'completed'], ['t0', 'completed', { redelivered: true }], ['t0', 'completed', { redelivered: true }], ['t1', 'completed']],
      expected: { completed: 2, failed: 0, lost: 0, duplicates: 2, duplicatedTasks: 1, retries: 0 },
    },
    {
      name: 'failed after retries: dead-lettered, not lost',
      sent: 2,
      steps: [['t0', 'retrying'], ['t0', 'retrying', { attempt: 2 }], ['t0', 'dead-lettered', { attempt: 3 }], ['t1', 'completed']],
      expected: { completed: 1, failed: 1, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 2 },
    },
    {
      name: 'retried then completed: completed, not failed',
      sent: 1,
      steps: [['t0', 'retrying'], ['t0', 'completed', { attempt: 2 }]],
      expected: { completed: 1, failed: 0, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 1 },
    },
    {
      name: 'dead-lettered, then a stale redelivery completes it: completed',
      sent: 1,
      steps: [['t0', 'dead-lettered', { attempt: 3 }], ['t0', 'completed', { redelivered: true }]],
      expected: { completed: 1, failed: 0, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 0 },
    },
    {
      name: 'dead-lettered twice counts once',
      sent: 1,
      steps: [['t0', 'dead-lettered'], ['t0', 'dead-lettered', { redelivered: true }]],
      expected: { completed: 0, failed: 1, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 0 },
    },
    {
      name: 'results for tasks never sent change nothing',
      sent: 1,
      steps: [['other-run-1', 'completed'], ['t0', 'completed']],
      expected: { completed: 1, failed: 0, lost: 0, duplicates: 0, duplicatedTasks: 0, retries: 0 },
    },
  ];

  it.each(cases)('$name', ({ sent, steps, expected }) => {
    const { pick, ledger } = account(sent, steps);
    expect(pick).toEqual(expected);
    expect(ledger.accounted).toBe(expected.completed + expected.failed);
  });

  it('counts the results carrying the redelivered flag', () => {
    const { overall } = account(2, [['t0', 'completed'], ['t0', 'completed', { redelivered: true }], ['t1', 'completed', { redelivered: true }]]);
    expect(overall.redelivered).toBe(2);
    expect(overall.duplicates).toBe(1);
  });

  it('counts completions and failed attempts per worker, duplicates included', () => {
    const { overall } = account(3, [
      ['t0', 'completed', { workerId: 'a' }],
      ['t1', 'retrying', { workerId: 'b' }],
      ['t1', 'completed', { workerId: 'a', attempt: 2 }],
      ['t2', 'completed', { workerId: 'b' }],
      ['t2', 'completed', { workerId: 'c', redelivered: true }],
    ]);
    expect(overall.workers).toEqual({ a: { completed: 2, failedAttempts: 0 }, b: { completed: 1, failedAttempts: 1 }, c: { completed: 1, failedAttempts: 0 } });
  });

  it('keeps queues apart and sums them overall', () => {
    const ledger = new RunLedger(['a', 'b']);
    ledger.recordSent('a', 'a0', T0);
    ledger.recordSent('a', 'a1', T0);
    ledger.recordSent('b', 'b0', T0 + 5);
    for (const id of ['a0', 'a1', 'b0']) ledger.recordConfirmed(id);
    ledger.recordResult(result('a0', 'completed'), T0 + 40);
    ledger.recordResult(result('b0', 'dead-lettered'), T0 + 50);
    const report = ledger.report();
    expect(report.queues.map(({ queue, sent, completed, failed, lost }) => ({ queue, sent, completed, failed, lost }))).toEqual([
      { queue: 'a', sent: 2, completed: 1, failed: 0, lost: 1 },
      { queue: 'b', sent: 1, completed: 0, failed: 1, lost: 0 },
    ]);
    expect(report.overall).toMatchObject({ sent: 3, completed: 1, failed: 1, lost: 1, totalTimeMs: 50 });
  });

  it('measures latency on the arrival clock from sentAt, first completion only', () => {
    const ledger = new RunLedger(['q']);
    ledger.recordSent('q', 't0', T0);
    ledger.recordSent('q', 't1', T0 + 10);
    ledger.recordResult(result('t0', 'completed', { startedAt: 5, finishedAt: 25 }), T0 + 30);
    ledger.recordResult(result('t0', 'completed', { startedAt: 0, finishedAt: 900 }), T0 + 1000);
    ledger.recordResult(result('t1', 'completed', { startedAt: 100, finishedAt: 140 }), T0 + 80);
    const { overall } = ledger.report();
    expect(overall.latencyMs).toMatchObject({ count: 2, min: 30, max: 70, avg: 50 });
    expect(overall.processingMs).toEqual({ count: 2, avg: 30, p95: 40 });
    // 2 tasks completed between the first send (T0) and the last first completion (T0 + 80).
    expect(overall.totalTimeMs).toBe(80);
    expect(overall.throughput).toBe(25);
  });

  it('counts unreadable results as unexpected', () => {
    const ledger = new RunLedger(['q']);
    ledger.recordSent('q', 't0', T0);
    ledger.recordConfirmed('t0');
    expect(ledger.recordResult(undefined, T0)).toBe('unexpected');
    expect(ledger.recordResult({ taskId: 't0', outcome: 'done' }, T0)).toBe('unexpected');
    expect(ledger.report()).toMatchObject({ unexpectedResults: 2, overall: { lost: 1 } });
  });

  it('tracks confirms; a task never confirmed is unconfirmed, never lost', () => {
    const ledger = new RunLedger(['q']);
    ledger.recordSent('q', 't0', T0);
    ledger.recordSent('q', 't1', T0);
    ledger.recordConfirmed('t0');
    ledger.recordConfirmed('t0');
    expect(ledger.report().overall).toMatchObject({ sent: 2, confirmed: 1, unconfirmed: 1, lost: 1, pending: 0 });
  });

  it('counts a task cut off at a fault, yet completed, as recovered', () => {
    const ledger = new RunLedger(['q']);
    for (const id of ['t0', 't1', 't2']) ledger.recordSent('q', id, T0);
    for (const id of ['t0', 't1', 't2']) ledger.recordCutOff(id);
    ledger.recordConfirmed('t1'); // its second publish was confirmed
    ledger.recordResult(result('t0', 'completed'), T0 + 10);
    ledger.recordResult(result('t1', 'completed'), T0 + 10);
    expect(ledger.report().overall).toMatchObject({ sent: 3, confirmed: 1, unconfirmed: 2, recovered: 2, completed: 2, lost: 0 });
  });

  it.each([
    // [held by the broker, expected pending, expected lost] with 3 confirmed and 1 unconfirmed task open
    [undefined, 0, 3],
    [0, 0, 3],
    [2, 2, 1],
    [4, 4, 0],
    // A foreign backlog never makes more pending than the run has open.
    [1000, 4, 0],
  ])('pending is what the broker holds (held %s), up to the open tasks; lost only what it does not', (held, pending, lost) => {
    const ledger = new RunLedger(['q']);
    for (const id of ['t0', 't1', 't2', 't3', 't4']) ledger.recordSent('q', id, T0);
    for (const id of ['t0', 't1', 't2', 't3']) ledger.recordConfirmed(id);
    ledger.recordResult(result('t0', 'completed'), T0 + 10);
    const report = ledger.report(new Map([['q', held]]));
    expect(report.overall).toMatchObject({ pending, lost });
    expect(report.queues[0]).toMatchObject({ pending, lost });
  });

  it('refuses a task id sent twice', () => {
    const ledger = new RunLedger(['q']);
    ledger.recordSent('q', 't0', T0);
    expect(() => ledger.recordSent('q', 't0', T0)).toThrow('task id t0 sent twice');
  });
});

describe('LatencyRecorder: percentiles from an HDR histogram', () => {
  it('gives exact order statistics for 1..1000 ms', () => {
    const recorder = new LatencyRecorder();
    for (let value = 1000; value >= 1; value--) recorder.record(value);
    expect(recorder.summary()).toEqual({ count: 1000, min: 1, avg: 500.5, p50: 500, p90: 900, p95: 950, p99: 990, max: 1000 });
  });

  it('is not fooled by a skewed distribution (no averaging of averages)', () => {
    const recorder = new LatencyRecorder();
    for (let i = 0; i < 98; i++) recorder.record(10);
    recorder.record(5000);
    recorder.record(9000);
    const summary = recorder.summary();
    expect(summary.p50).toBe(10);
    expect(summary.p95).toBe(10);
    expect(summary.p99).toBeGreaterThanOrEqual(4995);
    expect(summary.p99).toBeLessThanOrEqual(5005);
    expect(summary.max).toBe(9000);
    expect(summary.avg).toBe(149.8);
  });

  it('stays within 0.1% for large values', () => {
    const recorder = new LatencyRecorder();
    for (let i = 1; i <= 100; i++) recorder.record(i * 1234);
    const p90 = recorder.summary().p90 as number;
    expect(Math.abs(p90 - 90 * 1234) / (90 * 1234)).toBeLessThan(0.001);
  });

  it('reports nulls when nothing was recorded', () => {
    expect(new LatencyRecorder().summary()).toEqual({ count: 0, min: null, avg: null, p50: null, p90: null, p95: null, p99: null, max: null });
  });

  it('clamps negative durations (skewed clocks) to 0', () => {
    const recorder = new LatencyRecorder();
    recorder.record(-5);
    expect(recorder.summary()).toMatchObject({ min: 0, max: 0 });
  });
});

describe('asTaskResult', () => {
  it('accepts a TaskResult and rejects other shapes', () => {
    expect(asTaskResult(result('t', 'completed'))).toBeDefined();
    expect(asTaskResult({ ...result('t', 'completed'), startedAt: '1' })).toBeUndefined();
    expect(asTaskResult(null)).toBeUndefined();
    expect(asTaskResult('text')).toBeUndefined();
  });
});
