/**
 * Autoscaler policies on one-hour traces, in the simulator (no Docker, no broker; deterministic).
 * Build and run (bench/run.sh does both):
 *   npx esbuild bench/autoscale-traces.ts --bundle --platform=node --format=esm --packages=external --outfile=bench/dist/autoscale-traces.mjs
 *   node bench/dist/autoscale-traces.mjs [--json]
 *
 * Each trace is simulated with the old built-in policy (HPA formula: 10 messages per worker,
 * cooldowns 10 s up / 30 s down, 60 s stabilisation) and the new built-in default (rate mode),
 * 10 tasks/s per worker, 2 s start-up, 2 s interval, 1..10 replicas, starting at 1, latency target
 * 10 s, as in the issue. First the four shipped traces (examples/traces/*.csv), then the same shapes
 * drawn again with other seeds, phases and spike times: traces the policy was not tuned on.
 * Limits (issue): ≤ 12 scale events/h on steady load, 0 reversals within 60 s, ≤ 60 s/h over the
 * latency target, worker-seconds ≤ 1.25× the minimum need, final backlog 0. Nothing passes or fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyOf, type AutoscalePolicy } from '../src/core/autoscale/policy.js';
import { parseTrace, simulate, type SimulationTotals, type TracePoint } from '../src/core/autoscale/simulate.js';
// @ts-expect-error: a plain ES module without types; the shapes are documented there.
import { diurnal, shippedTraces, spikes, steadyNoisy, steps, withNoise } from '../examples/traces/generate.mjs';

/** The repository: the first folder up from here (bench/ or bench/dist/) that holds examples/traces. */
let root = path.dirname(fileURLToPath(import.meta.url));
while (!existsSync(path.join(root, 'examples/traces')) && path.dirname(root) !== root) root = path.dirname(root);
const LIMITS = { eventsPerHourSteady: 12, reversals: 0, overTargetSPerHour: 60, workerSecondsRatio: 1.25, finalBacklog: 0 };
const SETTINGS = { serviceRatePerWorker: 10, startupDelayMs: 2_000, intervalMs: 2_000, initialReplicas: 1, latencyTargetMs: 10_000 };
const limits = { minReplicas: 1, maxReplicas: 10 };

/** The built-in default before rate mode (qscale 0.1): what the issue measured. */
const OLD_DEFAULT: AutoscalePolicy = {
  enabled: true,
  ...limits,
  backlog: { kind: 'target-backlog', targetPerWorker: 10 },
  scaleUpCooldownMs: 10_000,
  scaleDownCooldownMs: 30_000,
  stabilizationWindowMs: 60_000,
  staleAfterMs: 10_000,
  messageRate: false,
  activationBacklog: 0,
};
const NEW_DEFAULT = policyOf(limits);

interface Trace {
  name: string;
  steady: boolean;
  points: TracePoint[];
}

const toTrace = (points: Array<[number, number]>): TracePoint[] => points.map(([timeS, ratePerS]) => ({ timeS, ratePerS }));

const shipped: Trace[] = (shippedTraces() as Array<{ name: string; file: string }>).map((trace) => ({
  name: trace.name,
  steady: trace.file.startsWith('steady'),
  points: parseTrace(readFileSync(path.join(root, 'examples/traces', trace.file), 'utf8'), trace.file),
}));

// The same shapes, drawn differently: other seeds, noise held longer, a shifted day, other spike times and levels.
const unseen: Trace[] = [
  { name: 'steady ±30 %, seed 7', steady: true, points: toTrace(steadyNoisy({ seed: 7 })) },
  { name: 'steady ±30 %, 5 s holds', steady: true, points: toTrace(steadyNoisy({ seed: 11, holdS: 5 })) },
  { name: 'steady ±30 %, 10 s holds', steady: true, points: toTrace(steadyNoisy({ seed: 21, holdS: 10 })) },
  { name: 'steady 34/s ±30 %', steady: true, points: toTrace(steadyNoisy({ seed: 13, mean: 34 })) },
  { name: 'diurnal ±10 % noise', steady: false, points: toTrace(diurnal({ seed: 17, noise: 0.1, stepS: 1 })) },
  { name: 'diurnal, shifted ¼ day', steady: false, points: toTrace(diurnal({ phaseS: 900, stepS: 10 })) },
  { name: 'spikes at other times', steady: false, points: toTrace(spikes({ startsS: [100, 900, 1500, 3300] })) },
  { name: 'spikes, ±10 % noise', steady: false, points: toTrace(withNoise(spikes(), 31, 0.1)) },
  { name: '30 s spikes', steady: false, points: toTrace(spikes({ spikeS: 30 })) },
  { name: '30 s spikes, ±10 % noise', steady: false, points: toTrace(withNoise(spikes({ spikeS: 30 }), 7, 0.1)) },
  { name: 'steps, ±30 % noise', steady: false, points: toTrace(withNoise(steps(), 28, 0.3)) },
  { name: 'steps 60, 15, 45, 25, 70', steady: false, points: toTrace(steps({ levels: [60, 15, 45, 25, 70] })) },
];

interface Row {
  trace: Trace;
  old: SimulationTotals;
  new: SimulationTotals;
}

const run = (trace: Trace, policy: AutoscalePolicy) => simulate({ ...SETTINGS, policy, trace: trace.points }).totals;
const rows = (traces: Trace[]): Row[] => traces.map((trace) => ({ trace, old: run(trace, OLD_DEFAULT), new: run(trace, NEW_DEFAULT) }));
const shippedRows = rows(shipped);
const unseenRows = rows(unseen);

if (process.argv.includes('--json')) {
  const json = (list: Row[]) => list.map((row) => ({ trace: row.trace.name, old: row.old, new: row.new }));
  console.log(JSON.stringify({ settings: SETTINGS, limits: LIMITS, shipped: json(shippedRows), unseen: json(unseenRows) }, null, 2));
} else {
  console.log('autoscale policies on one-hour traces (simulator: 10 tasks/s per worker, 2 s start-up, 2 s interval, 1..10 replicas, latency target 10 s)');
  console.log(`new: ${describe(NEW_DEFAULT)}`);
  console.log('old: the 0.1 default, 10 messages per worker (HPA formula), cooldowns 10 s / 30 s, stabilisation 60 s');
  printTable('shipped traces (examples/traces)', shippedRows);
  printTable('unseen variants (other seeds and shapes)', unseenRows);
  const all = [...shippedRows, ...unseenRows];
  const misses = all.flatMap((row) => missesOf(row).map((miss) => `${row.trace.name}: ${miss}`));
  console.log(misses.length === 0 ? '\nnew policy: every issue limit met on every trace' : `\nnew policy misses ${misses.length} limit(s):\n  ${misses.join('\n  ')}`);
}

function missesOf(row: Row): string[] {
  const t = row.new;
  const hours = t.durationS / 3600;
  const misses: string[] = [];
  if (row.trace.steady && t.scaleEventsPerHour > LIMITS.eventsPerHourSteady) misses.push(`${t.scaleEventsPerHour} scale events/h > ${LIMITS.eventsPerHourSteady}`);
  if (t.reversalsWithin60s > LIMITS.reversals) misses.push(`${t.reversalsWithin60s} reversals within 60 s`);
  if (t.timeOverLatencyTargetS / hours > LIMITS.overTargetSPerHour) misses.push(`${t.timeOverLatencyTargetS} s over the latency target`);
  if (t.workerSecondsRatio > LIMITS.workerSecondsRatio) misses.push(`worker-seconds ${t.workerSecondsRatio.toFixed(2)}× the minimum need`);
  if (t.finalBacklog > LIMITS.finalBacklog) misses.push(`final backlog ${t.finalBacklog}`);
  return misses;
}

function printTable(title: string, list: Row[]): void {
  const header = ['trace', 'policy', 'events/h', 'reversals<60s', 'worker-s ÷ need', 'over target s', 'peak repl/need', 'final backlog'];
  const cells = (totals: SimulationTotals) => [
    fmt(totals.scaleEventsPerHour),
    String(totals.reversalsWithin60s),
    `${totals.workerSecondsRatio.toFixed(2)}×`,
    fmt(totals.timeOverLatencyTargetS),
    `${totals.peakReplicas}/${totals.peakNeed}`,
    fmt(totals.finalBacklog),
  ];
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1.00×' : '∞') : `${(a / b).toFixed(2)}×`);
  const body = list.flatMap((row) => [
    [row.trace.name, 'old', ...cells(row.old)],
    ['', 'new', ...cells(row.new)],
    [
      '',
      'new/old',
      ratio(row.new.scaleEventsPerHour, row.old.scaleEventsPerHour),
      ratio(row.new.reversalsWithin60s, row.old.reversalsWithin60s),
      ratio(row.new.workerSecondsRatio, row.old.workerSecondsRatio),
      ratio(row.new.timeOverLatencyTargetS, row.old.timeOverLatencyTargetS),
      '',
      '',
    ],
  ]);
  const widths = header.map((name, column) => Math.max(name.length, ...body.map((row) => row[column].length)));
  const line = (row: string[]) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  for (const row of body) console.log(line(row));
}

function fmt(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function describe(policy: AutoscalePolicy): string {
  const rule = policy.backlog;
  return rule.kind === 'rate'
    ? `rate mode, drain ${rule.drainTimeMs / 1000} s, tolerance ${rule.tolerance * 100} %, reversal window ${rule.reversalWindowMs / 1000} s, stabilisation ${policy.stabilizationWindowMs / 1000} s`
    : rule.kind;
}
