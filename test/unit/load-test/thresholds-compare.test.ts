import { describe, expect, it } from 'vitest';
import type { QueueTotals } from '../../../src/core/load-test/accounting.js';
import { asLoadTestResult, compareResults } from '../../../src/core/load-test/compare.js';
import { LOAD_TEST_SCHEMA, scalingEfficiency, type LoadTestResult } from '../../../src/core/load-test/report.js';
import { describeThreshold, evaluateThresholds, type Threshold } from '../../../src/core/load-test/thresholds.js';

function totals(overrides: Partial<QueueTotals> & { p95?: number | null } = {}): QueueTotals {
  const { p95 = 120, ...rest } = overrides;
  return {
    sent: 100,
    confirmed: 100,
    unconfirmed: 0,
    recovered: 0,
    completed: 100,
    failed: 0,
    failureReasons: {},
    pending: 0,
    lost: 0,
    duplicates: 0,
    duplicatedTasks: 0,
    retries: 0,
    redelivered: 0,
    totalTimeMs: 1000,
    throughput: 100,
    latencyMs: { count: 100, min: 10, avg: 50, p50: 45, p90: 100, p95, p99: 200, max: 300 },
    processingMs: { count: 100, avg: 10, p95: 20 },
    workers: { w1: { completed: 100, failedAttempts: 0 } },
    ...rest,
  };
}

function resultOf(runId: string, overall: QueueTotals): LoadTestResult {
  return {
    schema: LOAD_TEST_SCHEMA,
    runId,
    resultsQueue: `qscale.results.${runId}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    settings: {
      queues: ['task_a'],
      tasksPerQueue: 100,
      ratePerSecond: null,
      payloadSize: 0,
      taskMs: '100',
      failRate: 0,
      crashRate: 0,
      timeoutMs: 40_000,
      settleMs: 700,
      maxUnconfirmed: 1000,
      brokerTimeoutMs: 60_000,
      purged: false,
    },
    outcome: 'finished',
    timedOut: false,
    interrupted: null,
    backlog: [],
    duplicatesStatus: 'final',
    broker: { outages: 0, downMs: 0, publishBlockedMs: 0, republished: 0, heldAtEnd: { task_a: 0 }, unackedKnown: true },
    incomplete: null,
    queues: [{ queue: 'task_a', ...overall }],
    overall,
    unexpectedResults: 0,
    thresholds: [],
    passed: true,
  };
}

const P95: Threshold = { metric: 'p95', flag: '--max-p95 300ms', comparison: '<=', limit: 300 };
const THROUGHPUT: Threshold = { metric: 'throughput', flag: '--min-throughput 100', comparison: '>=', limit: 100 };
const LOST: Threshold = { metric: 'lost', flag: '--max-lost 0', comparison: '<=', limit: 0 };

describe('thresholds', () => {
  it.each([
    [P95, totals({ p95: 300 }), true],
    [P95, totals({ p95: 301 }), false],
    [P95, totals({ p95: null }), false],
    [THROUGHPUT, totals({ throughput: 100 }), true],
    [THROUGHPUT, totals({ throughput: 99.9 }), false],
    [LOST, totals({ lost: 0 }), true],
    [LOST, totals({ lost: 1 }), false],
  ])('%o on %#', (threshold, run, passed) => {
    expect(evaluateThresholds([threshold], run)[0].passed).toBe(passed);
  });

  it('says which threshold failed and by how much', () => {
    const [p95, throughput, lost] = evaluateThresholds([P95, THROUGHPUT, LOST], totals({ p95: 412, throughput: 150, lost: 2 }));
    expect(describeThreshold(p95)).toBe('--max-p95 300ms: p95 latency 412ms > 300ms');
    expect(describeThreshold(throughput)).toBe('--min-throughput 100: throughput 150 tasks/s ≥ 100 tasks/s');
    expect(describeThreshold(lost)).toBe('--max-lost 0: lost 2 > 0');
  });
});

describe('compareResults', () => {
  it('gives b/a ratios: throughput gain and latency change', () => {
    const a = resultOf('before', totals({ throughput: 100, p95: 400 }));
    const b = resultOf('after', totals({ throughput: 190, p95: 200, lost: 0 }));
    const comparison = compareResults(a, b, ['A', 'B']);
    const byMetric = Object.fromEntries(comparison.rows.map((row) => [row.metric, row]));
    expect(byMetric['throughput (tasks/s)']).toEqual({ metric: 'throughput (tasks/s)', better: 'higher', a: 100, b: 190, ratio: 1.9 });
    expect(byMetric['latency p95 (ms)']).toEqual({ metric: 'latency p95 (ms)', better: 'lower', a: 400, b: 200, ratio: 0.5 });
    expect(byMetric['lost'].ratio).toBeNull();
    expect(byMetric['task_a throughput (tasks/s)'].ratio).toBe(1.9);
    expect(comparison.a).toEqual({ label: 'A', runId: 'before' });
  });

  it('refuses documents that are not load-test results, naming the file', () => {
    expect(() => asLoadTestResult({ schema: 'other/v9' }, 'a.json')).toThrow(
      'a.json: not a qscale load-test result (schema "other/v9"; expected "qscale.load-test/v2" or "qscale.load-test/v1")',
    );
    expect(() => asLoadTestResult([1, 2], 'b.json')).toThrow('b.json: not a qscale load-test result (no schema field; expected "qscale.load-test/v2" or "qscale.load-test/v1")');
    const good = resultOf('x', totals());
    expect(asLoadTestResult(JSON.parse(JSON.stringify(good)), 'c.json')).toEqual(good);
  });

  it('validates the fields it reads, and names the first wrong one', () => {
    const broken = JSON.parse(JSON.stringify(resultOf('x', totals())));
    broken.overall.latencyMs.p95 = 'fast';
    expect(() => asLoadTestResult(broken, 'a.json')).toThrow('a.json: field overall.latencyMs.p95: expected number, received string');
    delete broken.queues;
    expect(() => asLoadTestResult(broken, 'a.json')).toThrow('a.json: field overall.latencyMs.p95: expected number, received string');
    const noQueues = JSON.parse(JSON.stringify(resultOf('x', totals())));
    delete noQueues.queues;
    expect(() => asLoadTestResult(noQueues, 'b.json')).toThrow('b.json: field queues: expected array, received undefined');
  });

  it('still reads v1 documents (rejected instead of unconfirmed, no pending)', () => {
    const { unconfirmed: _u, recovered: _r, pending: _p, failureReasons: _f, ...v1Totals } = totals();
    const v1 = { ...resultOf('old', totals()), schema: 'qscale.load-test/v1', overall: { ...v1Totals, rejected: 0 }, queues: [{ queue: 'task_a', ...v1Totals, rejected: 0 }] };
    const read = asLoadTestResult(JSON.parse(JSON.stringify(v1)), 'v1.json');
    expect(compareResults(read, resultOf('new', totals({ throughput: 200 }))).rows[0]).toMatchObject({ a: 100, b: 200, ratio: 2 });
  });
});

describe('scalingEfficiency', () => {
  it('compares each step to the first and to linear scaling', () => {
    expect(
      scalingEfficiency([
        { workers: 1, throughput: 10 },
        { workers: 2, throughput: 19 },
        { workers: 4, throughput: 30 },
      ]),
    ).toEqual([
      { workers: 1, throughput: 10, speedup: 1, linear: 1, efficiency: 1 },
      { workers: 2, throughput: 19, speedup: 1.9, linear: 2, efficiency: 0.95 },
      { workers: 4, throughput: 30, speedup: 3, linear: 4, efficiency: 0.75 },
    ]);
  });
});
