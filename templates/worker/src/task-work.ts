import type { TaskMessage } from './protocol.js';

/** Simulated work: a fixed duration, or uniform between min and max, in ms. */
export type WorkMs = number | { min: number; max: number };

export interface WorkPlan {
  workMs: WorkMs;
  cpu: boolean;
  failRate: number;
}

/** "100" → 100, "50-200" → {min: 50, max: 200}; undefined when the text is neither. */
export function parseWorkMs(text: string): WorkMs | undefined {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!match) return undefined;
  const min = Number(match[1]);
  if (match[2] === undefined) return min;
  const max = Number(match[2]);
  return max < min ? undefined : { min, max };
}

/** The message's own settings win over the worker's environment defaults; bad values fall back. */
export function planWork(message: TaskMessage, defaults: WorkPlan): WorkPlan {
  return {
    workMs: isWorkMs(message.workMs) ? message.workMs : defaults.workMs,
    cpu: typeof message.cpu === 'boolean' ? message.cpu : defaults.cpu,
    failRate: typeof message.failRate === 'number' && message.failRate >= 0 && message.failRate <= 1 ? message.failRate : defaults.failRate,
  };
}

function isWorkMs(value: unknown): value is WorkMs {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  if (!value || typeof value !== 'object') return false;
  const { min, max } = value as { min?: unknown; max?: unknown };
  return typeof min === 'number' && typeof max === 'number' && min >= 0 && max >= min;
}

/** Picks the duration for one run; random() is in [0, 1). */
export function pickDurationMs(workMs: WorkMs, random: () => number): number {
  if (typeof workMs === 'number') return workMs;
  return Math.round(workMs.min + (workMs.max - workMs.min) * random());
}

export interface WorkEnvironment {
  sleep(ms: number): Promise<void>;
  /** Keeps a CPU busy for ms (blocks the event loop, as real CPU-bound work does). */
  burnCpu(ms: number): void;
  random(): number;
}

export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure';
}

/** Does the simulated work; throws a SimulatedFailure with probability failRate, after the work. */
export async function performWork(plan: WorkPlan, environment: WorkEnvironment): Promise<void> {
  const durationMs = pickDurationMs(plan.workMs, environment.random);
  const fails = plan.failRate > 0 && environment.random() < plan.failRate;
  // No work is no timer: even sleep(0) waits a timer tick (≥ 1 ms), which would cap a no-op worker.
  if (durationMs > 0) {
    if (plan.cpu) environment.burnCpu(durationMs);
    else await environment.sleep(durationMs);
  }
  if (fails) throw new SimulatedFailure(`simulated failure (failRate ${plan.failRate})`);
}

export function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  let spin = 0;
  while (performance.now() < until) spin = (spin + Math.sqrt(spin + 1)) % 1e6;
}
