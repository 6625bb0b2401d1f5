import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyOf, type AutoscalePolicy } from '../../../src/core/autoscale/policy.js';
import { arrivalsBetween, parseTrace, serviceRateFromLoadTest, simulate } from '../../../src/core/autoscale/simulate.js';
import { QscaleError } from '../../../src/core/errors.js';
// @ts-expect-error: a plain ES module without types (examples/traces/generate.mjs documents the shapes).
import { diurnal, spikes, steadyNoisy, steps, withNoise } from '../../../examples/traces/generate.mjs';

const policy: AutoscalePolicy = {
  enabled: true,
  minReplicas: 1,
  maxReplicas: 4,
  backlog: { kind: 'target-backlog', targetPerWorker: 10 },
  scaleUpCooldownMs: 0,
  scaleDownCooldownMs: 0,
  stabilizationWindowMs: 0,
  staleAfterMs: 10_000,
  messageRate: false,
  activationBacklog: 0,
};

// 10 tasks/s for 4 s, then nothing until 10 s. One worker does 5/s.
const trace = parseTrace('time,rate\n0,10\n4,0\n10,0\n', 'small.csv');
const base = { policy, trace, serviceRatePerWorker: 5, startupDelayMs: 2_000, intervalMs: 2_000, initialReplicas: 1, latencyTargetMs: 3_000 };

describe('simulate', () => {
  it('replays a small trace step by step, as worked out by hand', () => {
    // The broker sees the waiting tasks as ready and the ones in progress (ack rate ÷ 5/s) as unacked.
    // t=0: nothing yet → ceil(0/10)=0, min 1: hold. 20 arrive, 1 worker does 10 → 10 wait. Latency 1/5 = 0.2 s.
    // t=2: 10 ready + 1 unacked → 2: up; the new worker consumes from t=4. Latency 10/5 + 0.2 = 2.2 s. 20 arrive, 10 done → 20.
    // t=4: 20 + 1 → 3: up (no cooldown); it consumes from t=6. Latency 20/10 + 0.2 = 2.2 s. Nothing arrives, 2 workers do 20 → 0.
    // t=6: 0 ready + 2 unacked (10/s ÷ 5) → 1: down (window 0); the last two go. Latency 0.2 s.
    // t=8: nothing: hold at min.
    const result = simulate(base);
    expect(result.steps).toEqual([
      { timeS: 0, arrivalRate: 10, replicas: 1, active: 1, backlog: 0, latencyS: 0.2, direction: 'hold', rule: 'min-replicas' },
      { timeS: 2, arrivalRate: 10, replicas: 2, active: 1, backlog: 10, latencyS: 2.2, direction: 'up', rule: 'target-backlog' },
      { timeS: 4, arrivalRate: 0, replicas: 3, active: 2, backlog: 20, latencyS: 2.2, direction: 'up', rule: 'target-backlog' },
      { timeS: 6, arrivalRate: 0, replicas: 1, active: 1, backlog: 0, latencyS: 0.2, direction: 'down', rule: 'target-backlog' },
      { timeS: 8, arrivalRate: 0, replicas: 1, active: 1, backlog: 0, latencyS: 0.2, direction: 'hold', rule: 'min-replicas' },
    ]);
    // Worker-seconds: (1+2+3+1+1) × 2 s = 16. The minimum need: ⌈10/5⌉ = 2 for 4 s, then min 1 for 6 s = 14.
    // Three scale events in 10 s = 1080 an hour; the down at t=6 reverses the up at t=4.
    expect(result.totals).toEqual({
      durationS: 10,
      arrived: 40,
      processed: 40,
      finalBacklog: 0,
      peakBacklog: 20,
      peakReplicas: 3,
      workerSeconds: 16,
      timeOverLatencyTargetS: 0,
      scaleUps: 2,
      scaleDowns: 1,
      scaleEventsPerHour: 1080,
      reversalsWithin60s: 1,
      peakNeed: 2,
      minimumNeedWorkerSeconds: 14,
      workerSecondsRatio: 1.143,
    });
  });

  it('lets a worker that starts within a step work the rest of it', () => {
    // Start-up 1 s: the worker added at t=2 works [3, 4): 5 more tasks, so 15 wait at t=4 (latency 15/10 + 0.2).
    const result = simulate({ ...base, startupDelayMs: 1_000 });
    expect(result.steps[2]).toMatchObject({ timeS: 4, replicas: 2, active: 2, backlog: 15, latencyS: 1.7 });
    expect(result.totals.processed).toBe(40);
  });

  it('counts time over the latency target', () => {
    // Target 2 s: the steps at t=2 and t=4 (2.2 s each) are over it.
    expect(simulate({ ...base, latencyTargetMs: 2_000 }).totals.timeOverLatencyTargetS).toBe(4);
  });

  it('counts no worker consuming a backlog as over the target, with no latency', () => {
    const result = simulate({ ...base, policy: { ...policy, minReplicas: 0 }, initialReplicas: 0, startupDelayMs: 4_000 });
    // t=0: empty, 0 workers. t=2: 20 waiting, no worker: latency unknown; one is started (ready at t=6).
    expect(result.steps.slice(0, 2).map((step) => [step.timeS, step.replicas, step.active, step.backlog, step.latencyS])).toEqual([
      [0, 0, 0, 0, 0.2],
      [2, 2, 0, 20, null],
    ]);
    expect(result.totals.timeOverLatencyTargetS).toBeGreaterThanOrEqual(2);
  });

  it('is deterministic', () => {
    expect(simulate(base)).toEqual(simulate(base));
  });
});

describe('the shipped steady trace (examples/traces/steady-noisy.csv: 56 tasks/s ±30 % each second, 1 h)', () => {
  // The set-up: 10 tasks/s per worker, 2 s start-up, 2 s interval, 1..10 replicas.
  const steady = parseTrace(readFileSync(new URL('../../../examples/traces/steady-noisy.csv', import.meta.url), 'utf8'), 'steady-noisy.csv');
  const run = (rule: AutoscalePolicy['backlog']) =>
    simulate({
      policy: { ...policyOf({ minReplicas: 1, maxReplicas: 10 }), backlog: rule },
      trace: steady,
      serviceRatePerWorker: 10,
      startupDelayMs: 2_000,
      intervalMs: 2_000,
      initialReplicas: 1,
      latencyTargetMs: 10_000,
    }).totals;

  it('the built-in rate mode scales a few times where the old 10-per-worker default flaps', () => {
    const rate = run(policyOf({ minReplicas: 1, maxReplicas: 10 }).backlog);
    const old = run({ kind: 'target-backlog', targetPerWorker: 10 });
    // Measured: rate mode 2 events (1 → 7 → 6 at the start; 0 reversals, 1.15× the minimum need);
    // the old default 112 (44 reversals, 1.27×). The limits: ≤ 12 events, 0 reversals, ≤ 1.25×.
    expect(rate.scaleEventsPerHour).toBeLessThanOrEqual(6);
    expect(old.scaleEventsPerHour).toBeGreaterThanOrEqual(90);
    expect(rate.reversalsWithin60s).toBe(0);
    expect(old.reversalsWithin60s).toBeGreaterThanOrEqual(30);
    expect(rate.workerSecondsRatio).toBeLessThanOrEqual(1.2);
    expect(rate.workerSecondsRatio).toBeLessThan(old.workerSecondsRatio);
    expect(rate.timeOverLatencyTargetS).toBeLessThanOrEqual(10);
    expect(rate.finalBacklog).toBe(0);
    expect(rate.processed).toBe(rate.arrived);
  });
});

describe('traces', () => {
  it('integrates a step-shaped rate', () => {
    expect(arrivalsBetween(trace, 3, 5)).toBe(10);
    expect(arrivalsBetween(trace, 0, 10)).toBe(40);
  });

  it.each([
    ['0,1\n0,2\n', 'bad.csv: line 2: time 0 does not come after 0'],
    ['0,1\n5,-1\n', 'bad.csv: line 2: rate must be a number of tasks per second ≥ 0, got "-1"'],
    ['0,1\nsoon,2\n', 'bad.csv: line 2: time must be a number of seconds ≥ 0, got "soon"'],
    ['0,1\n', 'bad.csv: a trace needs at least two lines "seconds,tasks_per_second" (the last marks the end)'],
  ])('refuses %j', (text, message) => {
    expect(() => parseTrace(text, 'bad.csv')).toThrow(new QscaleError('USAGE', message));
  });

  it('reads a service rate from a load-test result', () => {
    const result = { schema: 'qscale.load-test/v1', queues: [{ queue: 'tasks', throughput: 30, workers: { a: {}, b: {}, c: {} } }] };
    expect(serviceRateFromLoadTest(result, 'tasks', 'r.json')).toBe(10);
    expect(() => serviceRateFromLoadTest({ schema: 'other' }, 'tasks', 'r.json')).toThrow('r.json: not a qscale load-test result');
  });
});

describe('the built-in default on one hour of each trace shape: no reversal within 60 s', () => {
  // The set-up: 10 tasks/s per worker, 2 s start-up, 2 s interval, 1..10 replicas, 10 s target.
  const run = (points: Array<[number, number]>) =>
    simulate({
      policy: policyOf({ minReplicas: 1, maxReplicas: 10 }),
      trace: points.map(([timeS, ratePerS]) => ({ timeS, ratePerS })),
      serviceRatePerWorker: 10,
      startupDelayMs: 2_000,
      intervalMs: 2_000,
      initialReplicas: 1,
      latencyTargetMs: 10_000,
    }).totals;

  // Seeds other than the shipped traces'. Worker-seconds: the issue's 1.25× except where the
  // base sits on one worker's capacity with noise (see the next test).
  it.each([
    ['steady 56/s ±30 %', () => steadyNoisy({ seed: 41 }), true],
    ['steady 56/s ±30 %, 10 s holds', () => steadyNoisy({ seed: 43, holdS: 10 }), true],
    ['diurnal 5→70, ±10 % noise', () => diurnal({ seed: 45, noise: 0.1, stepS: 1 }), false],
    ['10/s with 90 s spikes to 80', () => spikes({ startsS: [300, 1000, 2000, 2900] }), false],
    ['10/s with 30 s spikes to 80', () => spikes({ spikeS: 30 }), false],
    ['step levels held 12 min', () => steps({ levels: [40, 10, 60, 25, 50] }), false],
    ['step levels, ±30 % noise', () => withNoise(steps(), 47, 0.3), false],
  ] as const)('%s', (_name, points, steady) => {
    const totals = run(points());
    expect(totals.reversalsWithin60s).toBe(0);
    expect(totals.finalBacklog).toBe(0);
    expect(totals.timeOverLatencyTargetS).toBeLessThanOrEqual(60);
    expect(totals.workerSecondsRatio).toBeLessThanOrEqual(1.25);
    if (steady) expect(totals.scaleEventsPerHour).toBeLessThanOrEqual(12);
  });

  it.each([
    ['90 s spikes', () => withNoise(spikes(), 31, 0.1)],
    ['30 s spikes', () => withNoise(spikes({ spikeS: 30 }), 7, 0.1)],
  ] as const)('%s on a base of one worker’s capacity ±10 %: keeps 2 at the base instead of flipping 1 ↔ 2', (_name, points) => {
    const totals = run(points());
    expect(totals.reversalsWithin60s).toBe(0);
    expect(totals.finalBacklog).toBe(0);
    expect(totals.timeOverLatencyTargetS).toBeLessThanOrEqual(60);
    // The price: ⌈rate ÷ 10⌉ counts 1 or 2 as the noise falls (1.5 on average), a stable queue needs 2.
    // Measured 1.29× and 1.42×; the 1.25× is not met on this shape.
    expect(totals.workerSecondsRatio).toBeLessThanOrEqual(1.5);
    expect(totals.scaleEventsPerHour).toBeLessThanOrEqual(16);
  });
});
