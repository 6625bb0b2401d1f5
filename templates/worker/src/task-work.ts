import type { TaskMessage } from './protocol.js';

/** Simulated work: a fixed duration, or uniform between min and max, in ms. */
export type WorkMs = number | { min: number; max: number };

export interface WorkPlan {
  workMs: WorkMs;
  cpu: boolean;
  failRate: number;
  /** Probability that the task kills its worker process (SIGKILL) at the end of its work. */
  crashRate: number;
}

/** The longest work time a task may ask for; more is a malformed task, not a long one. */
export const MAX_WORK_MS = 24 * 60 * 60 * 1000;

/** "100" → 100, "50-200" → {min: 50, max: 200}; undefined when the text is neither. */
export function parseWorkMs(text: string): WorkMs | undefined {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!match) return undefined;
  const min = Number(match[1]);
  if (match[2] === undefined) return min;
  const max = Number(match[2]);
  return max < min ? undefined : { min, max };
}

/**
 * The message's own settings win over the worker's environment defaults; a field the message
 * sets to a value out of range makes the task malformed: the answer is then the reason, a string.
 */
export function planWork(message: TaskMessage, defaults: WorkPlan): WorkPlan | string {
  const { workMs, cpu, failRate, crashRate } = message as unknown as Record<string, unknown>;
  if (workMs != null && !isWorkMs(workMs)) return `workMs out of range (expected 0..${MAX_WORK_MS} ms or {min ≤ max}): ${JSON.stringify(workMs)}`;
  if (cpu != null && typeof cpu !== 'boolean') return `cpu is not true or false: ${JSON.stringify(cpu)}`;
  if (failRate != null && !isProbability(failRate)) return `failRate is not a probability: ${JSON.stringify(failRate)}`;
  if (crashRate != null && !isProbability(crashRate)) return `crashRate is not a probability: ${JSON.stringify(crashRate)}`;
  return {
    workMs: (workMs as WorkMs | null | undefined) ?? defaults.workMs,
    cpu: (cpu as boolean | null | undefined) ?? defaults.cpu,
    failRate: (failRate as number | null | undefined) ?? defaults.failRate,
    crashRate: (crashRate as number | null | undefined) ?? defaults.crashRate,
  };
}

function isMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_WORK_MS;
}

function isWorkMs(value: unknown): value is WorkMs {
  if (typeof value === 'number') return isMs(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const { min, max } = value as { min?: unknown; max?: unknown };
  return isMs(min) && isMs(max) && max >= min;
}

function isProbability(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

/** Picks the duration for one run; random() is in [0, 1). */
export function pickDurationMs(workMs: WorkMs, random: () => number): number {
  if (typeof workMs === 'number') return workMs;
  return Math.round(workMs.min + (workMs.max - workMs.min) * random());
}

export interface WorkEnvironment {
  sleep(ms: number): Promise<void>;
  /**
   * Keeps a CPU busy for ms. The worker runs it on a worker thread (cpu-thread.ts), so the main
   * event loop keeps the AMQP heartbeats, the heartbeat file and control messages going.
   */
  burnCpu(ms: number): Promise<void> | void;
  random(): number;
  /** Ends the worker process abruptly (SIGKILL), as an OOM kill would. Injected so tests can watch. */
  crash(): void;
}

export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure';
}

/** Thrown after environment.crash() returned (only in tests: the real one never returns). */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

/**
 * Does the simulated work; after it, crashes the process with probability crashRate, else throws a
 * SimulatedFailure with probability failRate.
 */
export async function performWork(plan: WorkPlan, environment: WorkEnvironment): Promise<void> {
  const crashes = plan.crashRate > 0 && environment.random() < plan.crashRate;
  const durationMs = pickDurationMs(plan.workMs, environment.random);
  const fails = plan.failRate > 0 && environment.random() < plan.failRate;
  // No work is no timer: even sleep(0) waits a timer tick (≥ 1 ms), which would cap a no-op worker.
  // A crashing task always works a little first, as a real one does before it dies: the acks the
  // worker queued meanwhile reach the broker (amqplib flushes on the next turn of the event loop).
  if (durationMs > 0 || crashes) {
    if (plan.cpu) await environment.burnCpu(Math.max(1, durationMs));
    else await environment.sleep(Math.max(1, durationMs));
  }
  if (crashes) {
    environment.crash();
    throw new SimulatedCrash(`simulated crash (crashRate ${plan.crashRate})`);
  }
  if (fails) throw new SimulatedFailure(`simulated failure (failRate ${plan.failRate})`);
}

export function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  let spin = 0;
  while (performance.now() < until) spin = (spin + Math.sqrt(spin + 1)) % 1e6;
}
