import { describe, expect, it } from 'vitest';
import { decide, EMPTY_HISTORY, recordDecision, recordScale, type AutoscaleHistory, type ServiceMetrics } from '../../../src/core/autoscale/decide.js';
import type { AutoscalePolicy } from '../../../src/core/autoscale/policy.js';

const NOW = 1_700_000_000_000;

function policy(overrides: Partial<AutoscalePolicy> = {}): AutoscalePolicy {
  return {
    enabled: true,
    minReplicas: 1,
    maxReplicas: 10,
    backlog: { kind: 'target-backlog', targetPerWorker: 10 },
    scaleUpCooldownMs: 10_000,
    scaleDownCooldownMs: 30_000,
    stabilizationWindowMs: 60_000,
    staleAfterMs: 10_000,
    messageRate: false,
    activationBacklog: 0,
    ...overrides,
  };
}

const thresholds = { backlog: { kind: 'threshold', scaleUpThreshold: 100, scaleDownThreshold: 10, scaleUpStep: 2, scaleDownStep: 1 } } as const;

/** `current` live replicas and a queue with `ready` messages, both observed now. */
function metrics(current: number, ready: number, queue: Partial<NonNullable<ServiceMetrics['queue']>> = {}, extra: ServiceMetrics = {}): ServiceMetrics {
  return { replicas: { count: current, at: NOW }, queue: { ready, unacked: 0, consumers: current, at: NOW, ...queue }, ...extra };
}

const ago = (ms: number) => NOW - ms;

interface Row {
  name: string;
  policy?: Partial<AutoscalePolicy>;
  metrics: ServiceMetrics;
  history?: Partial<AutoscaleHistory>;
  expected: { desired: number | null; direction: string; rule: string; cooldown?: { up: number; down: number } };
}

const rows: Row[] = [
  // HPA formula
  { name: 'target: ceil(45 / 10) = 5', metrics: metrics(2, 45), expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'target: unacked counts as backlog', metrics: metrics(2, 20, { unacked: 25 }), expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'target: exactly at target holds', metrics: metrics(3, 30), expected: { desired: 3, direction: 'hold', rule: 'target-backlog' } },
  { name: 'target: capped at max', metrics: metrics(2, 500), expected: { desired: 10, direction: 'up', rule: 'max-replicas' } },
  { name: 'target: raised to min', metrics: metrics(3, 0), expected: { desired: 1, direction: 'down', rule: 'min-replicas' } },
  { name: 'target: to zero when min is 0', policy: { minReplicas: 0 }, metrics: metrics(2, 0), expected: { desired: 0, direction: 'down', rule: 'target-backlog' } },
  // thresholds
  { name: 'threshold: at scale_up_threshold adds the step', policy: thresholds, metrics: metrics(2, 100), expected: { desired: 4, direction: 'up', rule: 'threshold' } },
  { name: 'threshold: at scale_down_threshold removes the step', policy: thresholds, metrics: metrics(4, 10), expected: { desired: 3, direction: 'down', rule: 'threshold' } },
  { name: 'threshold: between holds', policy: thresholds, metrics: metrics(4, 50), expected: { desired: 4, direction: 'hold', rule: 'threshold' } },
  { name: 'threshold: from zero, waiting messages get one worker', policy: { ...thresholds, minReplicas: 0 }, metrics: metrics(0, 3), expected: { desired: 1, direction: 'up', rule: 'threshold' } },
  { name: 'threshold: a non-empty queue keeps one worker', policy: { ...thresholds, minReplicas: 0 }, metrics: metrics(1, 3), expected: { desired: 1, direction: 'hold', rule: 'threshold' } },
  { name: 'threshold: an empty queue may go to zero', policy: { ...thresholds, minReplicas: 0 }, metrics: metrics(1, 0), expected: { desired: 0, direction: 'down', rule: 'threshold' } },
  { name: 'threshold: the step stops at max', policy: { ...thresholds, maxReplicas: 5 }, metrics: metrics(4, 400), expected: { desired: 5, direction: 'up', rule: 'max-replicas' } },
  // cooldowns
  {
    name: 'up cooldown: 4 s after a scale-up, 6 s left',
    metrics: metrics(2, 45),
    history: { lastScaleUpAt: ago(4_000) },
    expected: { desired: 2, direction: 'hold', rule: 'cooldown', cooldown: { up: 6_000, down: 26_000 } },
  },
  { name: 'up cooldown: elapsed exactly', metrics: metrics(2, 45), history: { lastScaleUpAt: ago(10_000) }, expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'up cooldown: a scale-down does not delay a scale-up', metrics: metrics(2, 45), history: { lastScaleDownAt: ago(1_000) }, expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  {
    name: 'down cooldown: counts from the last scale-up too',
    metrics: metrics(5, 0),
    history: { lastScaleUpAt: ago(20_000) },
    expected: { desired: 5, direction: 'hold', rule: 'cooldown', cooldown: { up: 0, down: 10_000 } },
  },
  { name: 'down cooldown: and from the last scale-down', metrics: metrics(5, 0), history: { lastScaleDownAt: ago(29_999) }, expected: { desired: 5, direction: 'hold', rule: 'cooldown', cooldown: { up: 0, down: 1 } } },
  { name: 'down cooldown: elapsed', metrics: metrics(5, 0), history: { lastScaleUpAt: ago(30_000) }, expected: { desired: 1, direction: 'down', rule: 'min-replicas' } },
  // stabilisation window
  {
    name: 'window: down only to the highest recent recommendation',
    metrics: metrics(5, 0),
    history: { recommendations: [{ at: ago(50_000), replicas: 4 }, { at: ago(20_000), replicas: 2 }] },
    expected: { desired: 4, direction: 'down', rule: 'stabilization' },
  },
  { name: 'window: a recent recommendation of the current count holds', metrics: metrics(5, 0), history: { recommendations: [{ at: ago(10_000), replicas: 5 }] }, expected: { desired: 5, direction: 'hold', rule: 'stabilization' } },
  { name: 'window: recommendations older than the window are forgotten', metrics: metrics(5, 0), history: { recommendations: [{ at: ago(60_000), replicas: 5 }] }, expected: { desired: 1, direction: 'down', rule: 'min-replicas' } },
  { name: 'window: never delays a scale-up', metrics: metrics(2, 45), history: { recommendations: [{ at: ago(1_000), replicas: 1 }] }, expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  // limits
  { name: 'below min: back to min at once, cooldown or not', policy: { minReplicas: 2 }, metrics: metrics(0, 0), history: { lastScaleUpAt: ago(1) }, expected: { desired: 2, direction: 'up', rule: 'min-replicas' } },
  { name: 'above max: back to max at once', policy: { maxReplicas: 4 }, metrics: metrics(6, 100), history: { lastScaleUpAt: ago(1) }, expected: { desired: 4, direction: 'down', rule: 'max-replicas' } },
  // scale to zero, activation, fallback
  { name: 'zero: an unacked message counts as backlog and keeps one', policy: { minReplicas: 0 }, metrics: metrics(2, 0, { unacked: 1 }), expected: { desired: 1, direction: 'down', rule: 'target-backlog' } },
  { name: 'zero: never while the unacked count is unknown (AMQP only)', policy: { minReplicas: 0 }, metrics: metrics(1, 0, { unacked: undefined }), expected: { desired: 1, direction: 'hold', rule: 'zero-guard' } },
  { name: 'zero: threshold mode, unacked unknown, keeps one', policy: { ...thresholds, minReplicas: 0 }, metrics: metrics(1, 0, { unacked: undefined }), expected: { desired: 1, direction: 'hold', rule: 'zero-guard' } },
  { name: 'zero: from 3, unacked unknown, down to 1', policy: { minReplicas: 0 }, metrics: metrics(3, 0, { unacked: undefined }), expected: { desired: 1, direction: 'down', rule: 'zero-guard' } },
  { name: 'activation: from zero, a backlog at the activation level waits', policy: { minReplicas: 0, activationBacklog: 5 }, metrics: metrics(0, 5), expected: { desired: 0, direction: 'hold', rule: 'activation' } },
  { name: 'activation: above it, workers start', policy: { minReplicas: 0, activationBacklog: 5 }, metrics: metrics(0, 6), expected: { desired: 1, direction: 'up', rule: 'target-backlog' } },
  { name: 'activation: only from zero', policy: { minReplicas: 0, activationBacklog: 50 }, metrics: metrics(1, 45), expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'fallback: stale queue statistics run fallback_replicas', policy: { fallbackReplicas: 4 }, metrics: metrics(2, 45, { at: ago(10_001) }), expected: { desired: 4, direction: 'up', rule: 'fallback' } },
  { name: 'fallback: no queue statistics at all, too', policy: { fallbackReplicas: 1 }, metrics: { replicas: { count: 3, at: NOW } }, expected: { desired: 1, direction: 'down', rule: 'fallback' } },
  { name: 'fallback: not when Docker cannot count the replicas', policy: { fallbackReplicas: 4 }, metrics: { ...metrics(2, 45, { at: ago(20_000) }), replicas: { count: 2, at: ago(20_000) } }, expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  // schedules (NOW is a Tuesday, 22:13 UTC)
  {
    name: 'schedule: an open window raises the minimum at once',
    policy: { schedules: [{ fromMinute: 22 * 60, toMinute: 23 * 60, minReplicas: 4, label: '22:00-23:00 UTC' }] },
    metrics: metrics(2, 0),
    history: { lastScaleUpAt: ago(1) },
    expected: { desired: 4, direction: 'up', rule: 'min-replicas' },
  },
  {
    name: 'schedule: a closed window does nothing',
    policy: { schedules: [{ fromMinute: 8 * 60, toMinute: 18 * 60, minReplicas: 4, label: '08:00-18:00 UTC' }] },
    metrics: metrics(2, 15),
    expected: { desired: 2, direction: 'hold', rule: 'target-backlog' },
  },
  {
    name: 'schedule: never above max_replicas',
    policy: { maxReplicas: 3, schedules: [{ fromMinute: 0, toMinute: 24 * 60, minReplicas: 8, label: '00:00-24:00 UTC' }] },
    metrics: metrics(2, 0),
    expected: { desired: 3, direction: 'up', rule: 'min-replicas' },
  },
  // stale or missing data
  { name: 'stale queue statistics hold', metrics: metrics(2, 45, { at: ago(10_001) }), expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  { name: 'queue statistics exactly stale_after old are still fresh', metrics: metrics(2, 45, { at: ago(10_000) }), expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'no queue statistics hold', metrics: { replicas: { count: 2, at: NOW } }, expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  { name: 'stale container count holds', metrics: { ...metrics(2, 45), replicas: { count: 2, at: ago(11_000) } }, expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  { name: 'no container count: nothing known', metrics: { queue: { ready: 45, consumers: 0, at: NOW } }, expected: { desired: null, direction: 'hold', rule: 'stale' } },
  // CPU
  { name: 'cpu: ceil(2 × 100 / 50) = 4 beats the backlog', policy: { cpuTargetPercent: 50 }, metrics: metrics(2, 0, {}, { cpu: { percent: 100, at: NOW } }), expected: { desired: 4, direction: 'up', rule: 'cpu' } },
  { name: 'cpu: within 10 % of the target holds', policy: { cpuTargetPercent: 50 }, metrics: metrics(2, 0, {}, { cpu: { percent: 54, at: NOW } }), expected: { desired: 2, direction: 'hold', rule: 'cpu' } },
  { name: 'cpu: the backlog wins when it asks for more', policy: { cpuTargetPercent: 50 }, metrics: metrics(2, 80, {}, { cpu: { percent: 60, at: NOW } }), expected: { desired: 8, direction: 'up', rule: 'target-backlog' } },
  { name: 'cpu: stale CPU holds', policy: { cpuTargetPercent: 50 }, metrics: metrics(2, 80, {}, { cpu: { percent: 60, at: ago(20_000) } }), expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  { name: 'cpu: no containers, no CPU needed', policy: { cpuTargetPercent: 50, minReplicas: 0 }, metrics: metrics(0, 0), expected: { desired: 0, direction: 'hold', rule: 'target-backlog' } },
  // memory (Docker stats: usage ÷ limit)
  { name: 'memory: ceil(3 × 90 / 60) = 5 beats the backlog', policy: { memoryTargetPercent: 60 }, metrics: metrics(3, 10, {}, { memory: { percent: 90, at: NOW } }), expected: { desired: 5, direction: 'up', rule: 'memory' } },
  { name: 'memory: within 10 % of the target holds', policy: { memoryTargetPercent: 60 }, metrics: metrics(3, 0, {}, { memory: { percent: 64, at: NOW } }), expected: { desired: 3, direction: 'hold', rule: 'memory' } },
  { name: 'memory: the backlog wins when it asks for more', policy: { memoryTargetPercent: 60 }, metrics: metrics(3, 70, {}, { memory: { percent: 90, at: NOW } }), expected: { desired: 7, direction: 'up', rule: 'target-backlog' } },
  { name: 'memory: low use lets the backlog decide the way down', policy: { memoryTargetPercent: 60 }, metrics: metrics(4, 20, {}, { memory: { percent: 15, at: NOW } }), history: { lastScaleUpAt: ago(120_000) }, expected: { desired: 2, direction: 'down', rule: 'target-backlog' } },
  { name: 'memory: stale memory holds', policy: { memoryTargetPercent: 60 }, metrics: metrics(3, 70, {}, { memory: { percent: 90, at: ago(20_000) } }), expected: { desired: 3, direction: 'hold', rule: 'stale' } },
  { name: 'memory: none measured holds', policy: { memoryTargetPercent: 60 }, metrics: metrics(3, 70), expected: { desired: 3, direction: 'hold', rule: 'stale' } },
  { name: 'memory: stale, with fallback_replicas: the fallback', policy: { memoryTargetPercent: 60, fallbackReplicas: 4 }, metrics: metrics(3, 70), expected: { desired: 4, direction: 'up', rule: 'fallback' } },
  // custom metric (a value over a target per worker)
  { name: 'custom: ceil(420 / 50) = 9 beats the backlog', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, metrics: metrics(2, 30, {}, { custom: { value: 420, at: NOW } }), expected: { desired: 9, direction: 'up', rule: 'custom-metric' } },
  { name: 'custom: within 10 % of the replicas holds (4 × 50 vs 215)', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, metrics: metrics(4, 0, {}, { custom: { value: 215, at: NOW } }), expected: { desired: 4, direction: 'hold', rule: 'custom-metric' } },
  { name: 'custom: the backlog wins when it asks for more', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, metrics: metrics(2, 60, {}, { custom: { value: 100, at: NOW } }), expected: { desired: 6, direction: 'up', rule: 'target-backlog' } },
  { name: 'custom: from zero, the activation backlog still decides (min 0, empty queue)', policy: { ...{ customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, minReplicas: 0 }, metrics: metrics(0, 0, {}, { custom: { value: 120, at: NOW } }), expected: { desired: 0, direction: 'hold', rule: 'activation' } },
  { name: 'custom: from zero with messages waiting: its count', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 }, minReplicas: 0 }, metrics: metrics(0, 5, {}, { custom: { value: 120, at: NOW } }), expected: { desired: 3, direction: 'up', rule: 'custom-metric' } },
  { name: 'custom: capped at max', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, metrics: metrics(2, 0, {}, { custom: { value: 5000, at: NOW } }), expected: { desired: 10, direction: 'up', rule: 'max-replicas' } },
  { name: 'custom: stale value holds', policy: { customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } }, metrics: metrics(2, 60, {}, { custom: { value: 420, at: ago(11_000) } }), expected: { desired: 2, direction: 'hold', rule: 'stale' } },
  // every trigger at once: the highest wins
  {
    name: 'all triggers: memory 6, cpu 4, custom 5, backlog 3 → 6 by memory',
    policy: { cpuTargetPercent: 50, memoryTargetPercent: 50, customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } },
    metrics: metrics(2, 30, {}, { cpu: { percent: 100, at: NOW }, memory: { percent: 150, at: NOW }, custom: { value: 250, at: NOW } }),
    expected: { desired: 6, direction: 'up', rule: 'memory' },
  },
  {
    name: 'all triggers: custom 8 beats memory 6',
    policy: { cpuTargetPercent: 50, memoryTargetPercent: 50, customMetric: { url: 'http://127.0.0.1:9/metrics', target: 50 } },
    metrics: metrics(2, 30, {}, { cpu: { percent: 100, at: NOW }, memory: { percent: 150, at: NOW }, custom: { value: 400, at: NOW } }),
    expected: { desired: 8, direction: 'up', rule: 'custom-metric' },
  },
  // message rates
  { name: 'rate: publish 3× the ack rate triples', policy: { messageRate: true }, metrics: metrics(2, 0, { publishRate: 30, ackRate: 10 }), expected: { desired: 6, direction: 'up', rule: 'message-rate' } },
  { name: 'rate: balanced rates hold', policy: { messageRate: true }, metrics: metrics(2, 0, { publishRate: 10.5, ackRate: 10 }), expected: { desired: 2, direction: 'hold', rule: 'message-rate' } },
  { name: 'rate: nothing acked yet, the backlog decides', policy: { messageRate: true }, metrics: metrics(2, 45, { publishRate: 30, ackRate: 0 }), expected: { desired: 5, direction: 'up', rule: 'target-backlog' } },
  { name: 'rate: no rates hold', policy: { messageRate: true }, metrics: metrics(2, 45), expected: { desired: 2, direction: 'hold', rule: 'stale' } },
];

describe('decide', () => {
  it.each(rows)('$name', (row) => {
    const decision = decide({ policy: policy(row.policy), metrics: row.metrics, history: { ...EMPTY_HISTORY, ...row.history }, now: NOW });
    expect({ desired: decision.desired, direction: decision.direction, rule: decision.rule }).toEqual({
      desired: row.expected.desired,
      direction: row.expected.direction,
      rule: row.expected.rule,
    });
    if (row.expected.cooldown) expect(decision.cooldownRemainingMs).toEqual(row.expected.cooldown);
  });

  it('explains itself with its inputs', () => {
    const decision = decide({ policy: policy(), metrics: metrics(2, 20, { unacked: 25, publishRate: 12, ackRate: 4 }), history: EMPTY_HISTORY, now: NOW });
    expect(decision).toEqual({
      current: 2,
      recommendation: 5,
      desired: 5,
      direction: 'up',
      rule: 'target-backlog',
      reason: 'backlog 45 (ready 20 + unacked 25) / target 10 per worker → 5',
      cooldownRemainingMs: { up: 0, down: 0 },
      inputs: { backlog: 45, ready: 20, unacked: 25, consumers: 2, publishRate: 12, ackRate: 4, cpuPercent: undefined, metricsAgeMs: 0 },
      // Every mode learns the rates (one sample with messages waiting tells no service rate yet).
      rates: {
        at: NOW,
        backlog: 45,
        ready: 20,
        consumers: 2,
        arrivalSource: 'publish-rate',
        arrivalLast: 12,
        arrivalSlow: 12,
        arrivalVariance: 0,
        arrivalFast: 12,
        recentArrivals: [{ at: NOW, rate: 12 }],
        waitingSince: NOW,
      },
    });
  });

  it('says why it holds on stale data and how old the data is', () => {
    const decision = decide({ policy: policy(), metrics: metrics(2, 45, { at: ago(12_500) }), history: EMPTY_HISTORY, now: NOW });
    expect(decision.reason).toBe('hold: queue statistics from the broker is 12.5s old (stale after 10.0s)');
    expect(decision.recommendation).toBeNull();
  });

  it('names the schedule that raised the minimum', () => {
    const schedules = [{ fromMinute: 22 * 60, toMinute: 23 * 60, minReplicas: 4, label: '22:00-23:00 UTC' }];
    expect(decide({ policy: policy({ schedules }), metrics: metrics(2, 0), history: EMPTY_HISTORY, now: NOW }).reason).toBe('2 is below min_replicas 4 (schedule 22:00-23:00 UTC)');
    expect(decide({ policy: policy({ schedules }), metrics: metrics(4, 0), history: EMPTY_HISTORY, now: NOW }).reason).toBe(
      'backlog 0 (ready 0 + unacked 0) / target 10 per worker → 0, raised to min_replicas 4 (schedule 22:00-23:00 UTC); already at 4',
    );
  });

  it('says how long a cooldown has left', () => {
    const decision = decide({ policy: policy(), metrics: metrics(2, 45), history: { ...EMPTY_HISTORY, lastScaleUpAt: ago(4_000) }, now: NOW });
    expect(decision.reason).toBe('backlog 45 (ready 45 + unacked 0) / target 10 per worker → 5; scale-up waits 6.0s more (scale_up_cooldown)');
  });
});

describe('history', () => {
  it('keeps recommendations within the window and forgets the rest', () => {
    const p = policy({ stabilizationWindowMs: 10_000 });
    let history: AutoscaleHistory = { recommendations: [{ at: ago(10_000), replicas: 9 }, { at: ago(5_000), replicas: 3 }] };
    const decision = decide({ policy: p, metrics: metrics(3, 70), history, now: NOW });
    history = recordDecision(history, decision, NOW, p);
    expect(history.recommendations).toEqual([
      { at: ago(5_000), replicas: 3 },
      { at: NOW, replicas: 7 },
    ]);
  });

  it('records nothing for a hold on stale data', () => {
    const p = policy();
    const decision = decide({ policy: p, metrics: {}, history: EMPTY_HISTORY, now: NOW });
    expect(recordDecision(EMPTY_HISTORY, decision, NOW, p).recommendations).toEqual([]);
  });

  it('remembers when it last scaled each way', () => {
    const history = recordScale(recordScale(EMPTY_HISTORY, 'up', 1), 'down', 2);
    expect(recordScale(history, 'hold', 3)).toEqual({ recommendations: [], lastScaleUpAt: 1, lastScaleDownAt: 2 });
  });
});

describe('decide, rate mode (the default)', () => {
  const ratePolicy = (overrides: Partial<AutoscalePolicy> = {}): AutoscalePolicy => policy({ backlog: { kind: 'rate', drainTimeMs: 30_000, tolerance: 0.1, reversalWindowMs: 60_000 }, ...overrides });

  interface Flow {
    /** Tasks/s published now; the slow and fast estimates were already there unless given. */
    publish: number;
    slow?: number;
    fast?: number;
    ready?: number;
    unacked?: number;
    /** One worker's measured service rate; 10/s. */
    serviceRate?: number;
    /** Standard deviation of the arrival noise measured so far, tasks/s; none unless given. */
    noise?: number;
    /** Earlier unsmoothed arrival rates, 2 s apart, oldest first, ending 2 s ago. */
    recent?: number[];
  }

  /** `current` replicas that have been measured at `serviceRate` each, and now see `flow.publish`. */
  function rated(current: number, flow: Flow, history: Partial<AutoscaleHistory> = {}, waitingFor?: number): { metrics: ServiceMetrics; history: AutoscaleHistory } {
    const mu = flow.serviceRate ?? 10;
    const ready = flow.ready ?? 0;
    const recent = flow.recent ?? [];
    return {
      metrics: metrics(current, ready, { unacked: flow.unacked ?? 0, publishRate: flow.publish, ackRate: mu * current }),
      history: {
        recommendations: [],
        ...history,
        rates: {
          at: ago(2_000),
          backlog: ready + (flow.unacked ?? 0),
          ready,
          consumers: current,
          arrivalSlow: flow.slow ?? flow.publish,
          arrivalFast: flow.fast ?? flow.publish,
          arrivalLast: flow.publish,
          ...(flow.noise !== undefined ? { arrivalVariance: flow.noise ** 2 } : {}),
          ackRate: mu * current,
          busyWorkers: current,
          recentArrivals: recent.map((rate, index) => ({ at: ago(2_000 * (recent.length - index)), rate })),
          ...(waitingFor !== undefined ? { waitingSince: ago(waitingFor) } : {}),
        },
      },
    };
  }

  interface RateRow {
    name: string;
    policy?: Partial<AutoscalePolicy>;
    current: number;
    flow: Flow;
    history?: Partial<AutoscaleHistory>;
    /** Messages have waited at every poll for this long. */
    waitingFor?: number;
    expected: { desired: number | null; direction: string; rule: string };
  }

  const rateRows: RateRow[] = [
    { name: 'need 56/s ÷ 10/s = 5.6 → 6: already there', current: 6, flow: { publish: 56 }, expected: { desired: 6, direction: 'hold', rule: 'rate' } },
    { name: 'need 8 beyond the tolerance: up to 8', current: 6, flow: { publish: 80 }, expected: { desired: 8, direction: 'up', rule: 'rate' } },
    { name: 'need 6.4 within 10 % of 6: tolerance holds', current: 6, flow: { publish: 64 }, expected: { desired: 6, direction: 'hold', rule: 'tolerance' } },
    { name: '6 s of work waiting: behind, tolerance waived (6.4 + 360/300 → 8)', current: 6, flow: { publish: 64, ready: 360 }, expected: { desired: 8, direction: 'up', rule: 'rate' } },
    { name: '2 s of work waiting is not behind: the tolerance holds (5 + 100/300)', current: 5, flow: { publish: 50, ready: 100 }, expected: { desired: 5, direction: 'hold', rule: 'tolerance' } },
    {
      name: 'messages waiting at every poll for a drain time: the tolerance steps aside so they drain',
      current: 5,
      flow: { publish: 50, ready: 100 },
      history: {},
      waitingFor: 30_000,
      expected: { desired: 6, direction: 'up', rule: 'rate' },
    },
    { name: 'prefetched unacked messages beyond one per consumer wait too (5 + 300/300)', current: 5, flow: { publish: 50, ready: 0, unacked: 305 }, expected: { desired: 6, direction: 'up', rule: 'rate' } },
    { name: 'a rise the queue shows (behind): the fast and last rates count (60 + 250/300 → 7)', current: 4, flow: { publish: 60, slow: 40, fast: 60, ready: 250 }, expected: { desired: 7, direction: 'up', rule: 'rate' } },
    { name: 'a rise the queue does not show yet: the slow estimate, within the tolerance', current: 4, flow: { publish: 60, slow: 40, fast: 60 }, expected: { desired: 4, direction: 'hold', rule: 'tolerance' } },
    // The slow estimate moves to 40.5 (one 2 s sample of 30 s smoothing): need 4.05, asks for 5 but within the tolerance.
    { name: 'noise: fast 20 % above the slow is not a rise', current: 4, flow: { publish: 48, slow: 40, fast: 48 }, expected: { desired: 4, direction: 'hold', rule: 'tolerance' } },
    { name: 'up cooldown applies while not behind', current: 4, flow: { publish: 60 }, history: { lastScaleUpAt: ago(5_000) }, expected: { desired: 4, direction: 'hold', rule: 'cooldown' } },
    { name: 'up cooldown waived while behind (6 + 240/300 → 7)', current: 4, flow: { publish: 60, ready: 240 }, history: { lastScaleUpAt: ago(5_000) }, expected: { desired: 7, direction: 'up', rule: 'rate' } },
    { name: 'falling by one: held by a recommendation within the window', current: 7, flow: { publish: 56 }, history: { recommendations: [{ at: ago(30_000), replicas: 7 }] }, expected: { desired: 7, direction: 'hold', rule: 'stabilization' } },
    { name: 'falling by one: down once the window holds nothing higher', current: 7, flow: { publish: 56 }, history: { recommendations: [{ at: ago(61_000), replicas: 7 }] }, expected: { desired: 6, direction: 'down', rule: 'rate' } },
    { name: 'falling by two or more: only the quick 20 s window holds', current: 8, flow: { publish: 20 }, history: { recommendations: [{ at: ago(40_000), replicas: 8 }] }, expected: { desired: 2, direction: 'down', rule: 'rate' } },
    { name: 'falling by two or more: within the quick window, held', current: 8, flow: { publish: 20 }, history: { recommendations: [{ at: ago(10_000), replicas: 8 }] }, expected: { desired: 8, direction: 'hold', rule: 'stabilization' } },
    { name: 'reversal: no down within 60 s of an up', current: 7, flow: { publish: 56 }, history: { lastScaleUpAt: ago(40_000) }, expected: { desired: 7, direction: 'hold', rule: 'reversal' } },
    // A 30 s spike: its workers stay until 60 s after the up, so the down is no reversal.
    { name: 'reversal: no down within 60 s of an up, even when the need fell to a third', current: 9, flow: { publish: 30 }, history: { lastScaleUpAt: ago(40_000) }, expected: { desired: 9, direction: 'hold', rule: 'reversal' } },
    { name: 'reversal: the down comes once the up is 60 s old', current: 9, flow: { publish: 30 }, history: { lastScaleUpAt: ago(60_000) }, expected: { desired: 3, direction: 'down', rule: 'rate' } },
    // Hysteresis. 9.6/s ±0.5 (σ) on 10/s workers: up at 1 σ, need (9.6 + 0.49) / 10 = 1.01 → 1;
    // down must leave 2 σ: (9.6 + 0.99) / 10 = 1.06 → 2. A level at one worker's capacity keeps 2.
    { name: 'hysteresis: noise at one worker’s capacity keeps 2', current: 2, flow: { publish: 9.6, noise: 0.5 }, expected: { desired: 2, direction: 'hold', rule: 'hysteresis' } },
    { name: 'hysteresis: the same level without noise goes down to 1', current: 2, flow: { publish: 9.6 }, expected: { desired: 1, direction: 'down', rule: 'rate' } },
    { name: 'hysteresis: from 3, down only to 2', current: 3, flow: { publish: 9.6, noise: 0.5 }, expected: { desired: 2, direction: 'down', rule: 'hysteresis' } },
    // From 1 the same level asks for no up: the up uses 1 σ (need 1.01, within the tolerance).
    { name: 'hysteresis: from 1 the same noisy level asks for no up', current: 1, flow: { publish: 9.6, noise: 0.5 }, expected: { desired: 1, direction: 'hold', rule: 'rate' } },
    { name: 'reversal: no up within 60 s of a down', current: 4, flow: { publish: 50 }, history: { lastScaleDownAt: ago(20_000) }, expected: { desired: 4, direction: 'hold', rule: 'reversal' } },
    { name: 'reversal: unless the fleet is behind (5 + 240/300 → 6)', current: 4, flow: { publish: 50, ready: 240 }, history: { lastScaleDownAt: ago(20_000) }, expected: { desired: 6, direction: 'up', rule: 'rate' } },
    {
      name: 'a fall confirmed over 20 s: earlier recommendations and the down cooldown no longer hold',
      current: 6,
      flow: { publish: 10, slow: 56, fast: 12, recent: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10] },
      history: { recommendations: [{ at: ago(10_000), replicas: 6 }], lastScaleDownAt: ago(25_000) },
      expected: { desired: 1, direction: 'down', rule: 'rate' },
    },
    {
      name: 'a fall not yet 20 s old is not confirmed',
      current: 6,
      flow: { publish: 10, slow: 56, fast: 12, recent: [10, 10, 10, 10, 10, 10, 10, 10] },
      history: { recommendations: [{ at: ago(10_000), replicas: 6 }] },
      // The slow estimate (53/s) still decides: 6.
      expected: { desired: 6, direction: 'hold', rule: 'rate' },
    },
    { name: 'capped at max', current: 6, flow: { publish: 300 }, expected: { desired: 10, direction: 'up', rule: 'max-replicas' } },
    { name: 'raised to min', policy: { minReplicas: 2 }, current: 3, flow: { publish: 5 }, expected: { desired: 2, direction: 'down', rule: 'min-replicas' } },
    { name: 'to zero when min is 0 and nothing waits', policy: { minReplicas: 0 }, current: 1, flow: { publish: 0 }, expected: { desired: 0, direction: 'down', rule: 'rate' } },
    { name: 'waiting messages keep one worker, however few', policy: { minReplicas: 0 }, current: 0, flow: { publish: 0, ready: 1 }, expected: { desired: 1, direction: 'up', rule: 'rate' } },
  ];

  it.each(rateRows)('$name', (row) => {
    const { metrics: observed, history } = rated(row.current, row.flow, row.history, row.waitingFor);
    const decision = decide({ policy: ratePolicy(row.policy), metrics: observed, history, now: NOW });
    expect({ desired: decision.desired, direction: decision.direction, rule: decision.rule }).toEqual(row.expected);
  });

  it('falls back to 10 waiting messages per worker until a service rate is measured', () => {
    const decision = decide({ policy: ratePolicy(), metrics: metrics(1, 45, { publishRate: 20 }), history: EMPTY_HISTORY, now: NOW });
    expect(decision).toMatchObject({ desired: 5, direction: 'up', rule: 'rate', reason: 'no service rate measured yet: backlog 45 / 10 per worker → 5' });
  });

  it('without any rate, adds one worker when messages waited at every poll for a drain time', () => {
    const history = { ...EMPTY_HISTORY, rates: { at: ago(2_000), backlog: 25, ready: 25, consumers: 3, waitingSince: ago(30_000) } };
    const decision = decide({ policy: ratePolicy(), metrics: metrics(3, 25, { unacked: undefined }), history, now: NOW });
    expect(decision).toMatchObject({ desired: 4, direction: 'up', rule: 'rate', reason: 'no service rate measured yet: messages waited at every poll for 30s → 4' });
  });

  it('until a service rate is measured, takes what each consumer acked as its floor', () => {
    const decision = decide({ policy: ratePolicy(), metrics: metrics(2, 0, { unacked: 2, publishRate: 30, ackRate: 12 }), history: EMPTY_HISTORY, now: NOW });
    // The first sample measures 12/s ÷ 2 busy = 6/s already (nothing waits, 2 unacked): 30 ÷ 6 = 5.
    expect(decision).toMatchObject({ desired: 5, inputs: { serviceRate: 6 } });
    const waiting = decide({ policy: ratePolicy(), metrics: metrics(2, 40, { unacked: 2, publishRate: 30, ackRate: 12 }), history: EMPTY_HISTORY, now: NOW });
    // 40 waiting: no measurement yet, but at least 6/s each: 30 ÷ 6 + 40 ÷ 180 → 6.
    expect(waiting).toMatchObject({ desired: 6, reason: 'arrivals 30/s (steady) / at least 6/s per worker + 40 waiting drained in 30s → need 5.22 → 6' });
  });

  it('uses a configured service rate until one is measured', () => {
    const policyWithPrior = ratePolicy({ backlog: { kind: 'rate', drainTimeMs: 30_000, tolerance: 0.1, reversalWindowMs: 60_000, serviceRate: 5 } });
    const decision = decide({ policy: policyWithPrior, metrics: metrics(1, 0, { publishRate: 20 }), history: EMPTY_HISTORY, now: NOW });
    expect(decision).toMatchObject({ desired: 4, direction: 'up', rule: 'rate', inputs: { arrivalRate: 20, serviceRate: 5, need: 4 } });
  });

  it('holds on stale queue statistics, keeping what it learnt', () => {
    const { history } = rated(4, { publish: 40 });
    const decision = decide({ policy: ratePolicy(), metrics: metrics(4, 0, { at: ago(11_000), publishRate: 90 }), history, now: NOW });
    expect(decision).toMatchObject({ desired: 4, direction: 'hold', rule: 'stale', recommendation: null });
    expect(recordDecision(history, decision, NOW, ratePolicy()).rates).toBe(history.rates);
  });

  it('while behind, takes the rate the queue depth shows when the publish rate lags', () => {
    // 2 s ago 100 waited; now 400 do, with 40/s acked: 150 + 40 = 190/s arrive, the publish rate says 60.
    const { metrics: observed, history } = rated(4, { publish: 60, ready: 400 });
    const decision = decide({ policy: ratePolicy(), metrics: observed, history: { ...history, rates: { ...history.rates!, backlog: 100, ready: 100 } }, now: NOW });
    expect(decision).toMatchObject({ direction: 'up', inputs: { arrivalRate: 190 } });
    expect(decision.reason).toMatch(/^arrivals 190\/s \(behind: 10s of work waiting\)/);
  });

  it('explains itself with the rates it used', () => {
    const { metrics: observed, history } = rated(6, { publish: 80, ready: 30 });
    const decision = decide({ policy: ratePolicy(), metrics: observed, history, now: NOW });
    expect(decision.reason).toBe('arrivals 80/s (steady) / 10/s per worker + 30 waiting drained in 30s → need 8.1 → 9');
    expect(decision.inputs).toMatchObject({ arrivalRate: 80, serviceRate: 10, need: 8.1 });
  });
});
