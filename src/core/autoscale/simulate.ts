import { usageError } from '../errors.js';
import { decide, EMPTY_HISTORY, recordDecision, recordScale, type DecisionRule, type Direction } from './decide.js';
import type { AutoscalePolicy } from './policy.js';

export const SIMULATION_SCHEMA = 'qscale.autoscale-sim/v1';

/** From `timeS` on, tasks arrive at `ratePerS` (until the next point). The last point marks the end. */
export interface TracePoint {
  timeS: number;
  ratePerS: number;
}

export interface SimulationOptions {
  policy: AutoscalePolicy;
  trace: TracePoint[];
  /** Tasks per second one worker completes. */
  serviceRatePerWorker: number;
  /** From a scale-up to the new worker consuming. */
  startupDelayMs: number;
  /** The autoscaler's poll interval: one decision per step. */
  intervalMs: number;
  initialReplicas: number;
  latencyTargetMs: number;
}

export interface SimulationStep {
  timeS: number;
  /** Arrival rate at the step's start, tasks/s. */
  arrivalRate: number;
  /** Replicas after the step's decision, started or not. */
  replicas: number;
  /** Of which consuming at the step's start. */
  active: number;
  /** Tasks waiting at the step's start (the broker's ready count; the ones in progress it counts as unacked). */
  backlog: number;
  /** Estimated time a task arriving now spends until done, s; null when no worker consumes it. */
  latencyS: number | null;
  direction: Direction;
  rule: DecisionRule;
}

export interface SimulationTotals {
  durationS: number;
  arrived: number;
  processed: number;
  finalBacklog: number;
  peakBacklog: number;
  peakReplicas: number;
  /** Σ replicas × time: what the fleet cost. */
  workerSeconds: number;
  /** Time during which the estimated latency exceeded the target (or no worker consumed a backlog). */
  timeOverLatencyTargetS: number;
  scaleUps: number;
  scaleDowns: number;
  /** (scale-ups + scale-downs) per hour of trace. */
  scaleEventsPerHour: number;
  /** Scale events in the direction opposite to the previous one, within REVERSAL_WINDOW_S of it. */
  reversalsWithin60s: number;
  /** The most replicas the trace ever needs: max(min, ⌈rate ÷ service rate⌉). */
  peakNeed: number;
  /** Σ max(min_replicas, ⌈rate ÷ service rate⌉) × time over the trace: what a clairvoyant fleet would cost. */
  minimumNeedWorkerSeconds: number;
  /** workerSeconds ÷ minimumNeedWorkerSeconds. */
  workerSecondsRatio: number;
}

/** A scale in the other direction within this of the previous one counts as a reversal. */
export const REVERSAL_WINDOW_S = 60;

export interface SimulationResult {
  schema: typeof SIMULATION_SCHEMA;
  settings: {
    serviceRatePerWorker: number;
    startupDelayS: number;
    intervalS: number;
    initialReplicas: number;
    latencyTargetS: number;
    minReplicas: number;
    maxReplicas: number;
  };
  steps: SimulationStep[];
  totals: SimulationTotals;
}

/**
 * Replays an arrival-rate trace against a fluid model of the workers, deciding with the same
 * `decide` as the live autoscaler. Each step of one interval: the decision sees the backlog (as
 * ready) and the tasks in progress (as unacked, ack rate ÷ service rate of them) and last step's
 * publish and ack rates, as the management API reports them; new workers start consuming `startupDelayMs` after the decision, removed ones
 * stop at once (they drain, so nothing is lost); then the step's arrivals join the backlog and the
 * consuming workers work it off at their service rate. Deterministic: no clock, no randomness.
 */
export function simulate(options: SimulationOptions): SimulationResult {
  const { policy, trace, serviceRatePerWorker: mu, startupDelayMs, intervalMs } = options;
  if (trace.length < 2) throw usageError('the trace needs at least two points (the last one marks its end)');
  if (!(mu > 0)) throw usageError(`the service rate must be above 0 tasks/s, got ${mu}`);
  if (!(intervalMs > 0)) throw usageError(`the interval must be above 0, got ${intervalMs}ms`);
  const endMs = trace[trace.length - 1].timeS * 1000;
  const latencyTargetS = options.latencyTargetMs / 1000;

  /** When each worker starts consuming, ms. */
  let workers: number[] = Array.from({ length: options.initialReplicas }, () => 0);
  let history = EMPTY_HISTORY;
  let backlog = 0;
  // No rates before the first step: nothing was measured yet.
  let lastArrivalRate: number | undefined;
  let lastAckRate: number | undefined;
  let lastUtilisation = 0;
  const steps: SimulationStep[] = [];
  const totals: SimulationTotals = {
    durationS: endMs / 1000,
    arrived: 0,
    processed: 0,
    finalBacklog: 0,
    peakBacklog: 0,
    peakReplicas: workers.length,
    workerSeconds: 0,
    timeOverLatencyTargetS: 0,
    scaleUps: 0,
    scaleDowns: 0,
    scaleEventsPerHour: 0,
    reversalsWithin60s: 0,
    peakNeed: 0,
    minimumNeedWorkerSeconds: 0,
    workerSecondsRatio: 0,
  };
  let lastEvent: { direction: Direction; atMs: number } | undefined;

  const consumingAt = (t: number) => workers.filter((readyAt) => readyAt <= t).length;
  for (let t = 0; t < endMs; t += intervalMs) {
    const dt = Math.min(intervalMs, endMs - t);
    const current = workers.length;
    const decision = decide({
      policy,
      metrics: {
        replicas: { count: current, at: t },
        // As the broker counts them: tasks in progress are unacked (Little's law: ack rate ÷ service
        // rate of them, on average), the rest of the backlog is ready.
        queue: { ready: backlog, unacked: Math.min(consumingAt(t), (lastAckRate ?? 0) / mu), consumers: consumingAt(t), publishRate: lastArrivalRate, ackRate: lastAckRate, at: t },
        cpu: { percent: lastUtilisation * 100, at: t },
      },
      history,
      now: t,
    });
    history = recordDecision(history, decision, t, policy);
    if (decision.desired !== null && decision.direction !== 'hold') {
      if (decision.desired > current) {
        workers = [...workers, ...Array.from({ length: decision.desired - current }, () => t + startupDelayMs)];
        totals.scaleUps++;
      } else {
        // Workers still starting go first, then the ones that started last.
        workers = [...workers].sort((a, b) => a - b).slice(0, decision.desired);
        totals.scaleDowns++;
      }
      history = recordScale(history, decision.direction, t);
      if (lastEvent && lastEvent.direction !== decision.direction && t - lastEvent.atMs < REVERSAL_WINDOW_S * 1000) totals.reversalsWithin60s++;
      lastEvent = { direction: decision.direction, atMs: t };
    }

    const active = workers.filter((readyAt) => readyAt <= t).length;
    const latencyS = backlog === 0 ? 1 / mu : active === 0 ? null : backlog / (active * mu) + 1 / mu;
    steps.push({
      timeS: round(t / 1000),
      arrivalRate: rateAt(trace, t / 1000),
      replicas: workers.length,
      active,
      backlog: round(backlog),
      latencyS: latencyS === null ? null : round(latencyS),
      direction: decision.direction,
      rule: decision.rule,
    });
    if (latencyS === null || latencyS > latencyTargetS) totals.timeOverLatencyTargetS += dt / 1000;
    totals.peakBacklog = Math.max(totals.peakBacklog, backlog);
    totals.peakReplicas = Math.max(totals.peakReplicas, workers.length);
    totals.workerSeconds += (workers.length * dt) / 1000;

    // The step: arrivals join, consuming workers (each for the part of the step it is up) work.
    const arrivals = arrivalsBetween(trace, t / 1000, (t + dt) / 1000);
    const capacity = workers.reduce((sum, readyAt) => sum + mu * (Math.max(0, t + dt - Math.max(readyAt, t)) / 1000), 0);
    const processed = Math.min(backlog + arrivals, capacity);
    backlog = backlog + arrivals - processed;
    totals.arrived += arrivals;
    totals.processed += processed;
    lastArrivalRate = arrivals / (dt / 1000);
    lastAckRate = processed / (dt / 1000);
    lastUtilisation = capacity > 0 ? processed / capacity : 0;
  }

  totals.finalBacklog = backlog;
  const need = minimumNeed(trace, mu, policy.minReplicas);
  totals.peakNeed = need.peak;
  totals.minimumNeedWorkerSeconds = need.workerSeconds;
  totals.workerSecondsRatio = need.workerSeconds > 0 ? totals.workerSeconds / need.workerSeconds : 0;
  totals.scaleEventsPerHour = endMs > 0 ? ((totals.scaleUps + totals.scaleDowns) * 3_600_000) / endMs : 0;
  totals.peakBacklog = Math.max(totals.peakBacklog, backlog);
  for (const key of Object.keys(totals) as Array<keyof SimulationTotals>) totals[key] = round(totals[key]);
  return {
    schema: SIMULATION_SCHEMA,
    settings: {
      serviceRatePerWorker: mu,
      startupDelayS: startupDelayMs / 1000,
      intervalS: intervalMs / 1000,
      initialReplicas: options.initialReplicas,
      latencyTargetS,
      minReplicas: policy.minReplicas,
      maxReplicas: policy.maxReplicas,
    },
    steps,
    totals,
  };
}

/** What a fleet that always ran exactly ⌈rate ÷ service rate⌉ replicas (at least `min`) would need: its peak and its worker-seconds. */
export function minimumNeed(trace: TracePoint[], serviceRatePerWorker: number, min: number): { peak: number; workerSeconds: number } {
  let peak = 0;
  let workerSeconds = 0;
  for (let index = 0; index + 1 < trace.length; index++) {
    // The tolerance keeps 70/s ÷ 10/s at 7, whatever the floating point says.
    const replicas = Math.max(min, Math.ceil(trace[index].ratePerS / serviceRatePerWorker - 1e-9));
    peak = Math.max(peak, replicas);
    workerSeconds += replicas * (trace[index + 1].timeS - trace[index].timeS);
  }
  return { peak, workerSeconds };
}

/** The rate in force at time `s`: the last point at or before it; 0 before the first. */
export function rateAt(trace: TracePoint[], s: number): number {
  let rate = 0;
  for (const point of trace) {
    if (point.timeS > s) break;
    rate = point.ratePerS;
  }
  return rate;
}

/** Tasks arriving in [from, to): the integral of the step-shaped rate. */
export function arrivalsBetween(trace: TracePoint[], from: number, to: number): number {
  let total = 0;
  for (let index = 0; index < trace.length; index++) {
    const start = Math.max(trace[index].timeS, from);
    const end = Math.min(index + 1 < trace.length ? trace[index + 1].timeS : Infinity, to);
    if (end > start) total += trace[index].ratePerS * (end - start);
  }
  return total;
}

/**
 * Reads a trace: one `seconds,tasks_per_second` pair a line, times rising; a header line, blank
 * lines and `#` comments are skipped. Errors name the file and the line.
 */
export function parseTrace(text: string, file: string): TracePoint[] {
  const points: TracePoint[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s*[,;\t]\s*/);
    if (points.length === 0 && fields.some((field) => Number.isNaN(Number(field)))) continue; // a header
    const at = `${file}: line ${index + 1}`;
    if (fields.length < 2) throw usageError(`${at}: expected "seconds,tasks_per_second", got "${line}"`);
    const [timeS, ratePerS] = fields.slice(0, 2).map(Number);
    if (!Number.isFinite(timeS) || timeS < 0) throw usageError(`${at}: time must be a number of seconds ≥ 0, got "${fields[0]}"`);
    if (!Number.isFinite(ratePerS) || ratePerS < 0) throw usageError(`${at}: rate must be a number of tasks per second ≥ 0, got "${fields[1]}"`);
    const previous = points[points.length - 1];
    if (previous && timeS <= previous.timeS) throw usageError(`${at}: time ${timeS} does not come after ${previous.timeS}`);
    points.push({ timeS, ratePerS });
  }
  if (points.length < 2) throw usageError(`${file}: a trace needs at least two lines "seconds,tasks_per_second" (the last marks the end)`);
  return points;
}

/**
 * One worker's service rate from a `qscale load-test --json` result: the queue's throughput over
 * the number of workers that completed its tasks.
 */
export function serviceRateFromLoadTest(result: unknown, queue: string, file: string): number {
  const report = result as { schema?: string; queues?: Array<{ queue: string; throughput: number; workers: Record<string, unknown> }> };
  if ((report?.schema !== 'qscale.load-test/v2' && report?.schema !== 'qscale.load-test/v1') || !Array.isArray(report.queues)) {
    throw usageError(`${file}: not a qscale load-test result (expected "schema": "qscale.load-test/v2" or "qscale.load-test/v1")`);
  }
  const entry = report.queues.find((candidate) => candidate.queue === queue) ?? (report.queues.length === 1 ? report.queues[0] : undefined);
  if (!entry) throw usageError(`${file}: no result for queue ${queue} (it has ${report.queues.map((candidate) => candidate.queue).join(', ')})`);
  const workers = Object.keys(entry.workers ?? {}).length;
  if (workers === 0 || !(entry.throughput > 0)) throw usageError(`${file}: queue ${entry.queue} completed no tasks, so it tells no service rate`);
  return entry.throughput / workers;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
