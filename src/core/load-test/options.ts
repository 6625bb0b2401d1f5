import { parseDurationMs } from '../duration.js';
import { usageError } from '../errors.js';
import { DEFAULT_BROKER_TIMEOUT_MS, maxWorkMs, type LoadShape, type WorkMs } from './run-load-test.js';
import type { Threshold } from './thresholds.js';
import type { LoadTestDefaults as ConfigLoadTestDefaults } from '../config/qscale-config.js';

/** The flags of `qscale load-test` as typed (strings), before validation. */
export interface LoadTestFlags {
  tasks?: string;
  queue?: string[];
  rate?: string;
  duration?: string;
  payloadSize?: string;
  taskMs?: string;
  failRate?: string;
  crashRate?: string;
  timeout?: string;
  brokerTimeout?: string;
  purge?: boolean;
  requireConsumers?: boolean;
  settle?: string;
  maxP95?: string;
  minThroughput?: string;
  maxLost?: string;
  maxDuplicates?: string;
  maxFailed?: string;
  scaleSteps?: string;
}

/** The config's `load_test` section and the queues it knows. */
export interface LoadTestDefaults extends ConfigLoadTestDefaults {
  queues: string[];
  configFile: string;
}

export interface LoadTestRequest extends LoadShape {
  scaleSteps?: number[];
}

/** Validates every flag before anything is published; errors name the flag and what came. */
export function parseLoadTestFlags(flags: LoadTestFlags, defaults: LoadTestDefaults): LoadTestRequest {
  const queues = parseQueues(flags.queue, defaults);
  const ratePerSecond = flags.rate === undefined ? undefined : parseRate(flags.rate);
  let tasksPerQueue = flags.tasks === undefined ? defaults.tasks : parseWhole(flags.tasks, '--tasks', 1);
  if (flags.duration !== undefined) {
    const durationMs = parseDurationMs(flags.duration);
    if (durationMs === undefined || durationMs <= 0) throw usageError(`--duration: "${flags.duration}" is not a positive duration (examples: 30s, 2m)`);
    if (ratePerSecond === undefined) throw usageError('--duration needs --rate (tasks per second to each queue)');
    if (flags.tasks !== undefined) throw usageError('--tasks and --duration both set the number of tasks; give one');
    tasksPerQueue = Math.max(1, Math.ceil((ratePerSecond * durationMs) / 1000));
  }
  const workMs = parseTaskMs(flags.taskMs ?? defaults.taskMs, flags.taskMs === undefined ? `${defaults.configFile}: load_test.task_ms` : '--task-ms');
  const payloadSize = flags.payloadSize === undefined ? defaults.payloadSize : parseWhole(flags.payloadSize, '--payload-size', 0);
  const failRate = flags.failRate === undefined ? defaults.failRate : parseFraction(flags.failRate, '--fail-rate');
  const crashRate = flags.crashRate === undefined ? 0 : parseFraction(flags.crashRate, '--crash-rate');
  const timeoutText = flags.timeout ?? defaults.timeout;
  // Undefined: the run computes it once it knows the backlog ahead of its tasks.
  const timeoutMs =
    timeoutText === undefined ? undefined : parsePositiveDuration(timeoutText, flags.timeout === undefined ? `${defaults.configFile}: load_test.timeout` : '--timeout');
  const brokerTimeoutMs = flags.brokerTimeout === undefined ? DEFAULT_BROKER_TIMEOUT_MS : parsePositiveDuration(flags.brokerTimeout, '--broker-timeout');
  const settleMs = flags.settle === undefined ? Math.min(5000, 500 + 2 * maxWorkMs(workMs)) : parseDuration(flags.settle, '--settle');

  const thresholds: Threshold[] = [];
  if (flags.maxP95 !== undefined) {
    thresholds.push({ metric: 'p95', flag: `--max-p95 ${flags.maxP95}`, comparison: '<=', limit: parseDuration(flags.maxP95, '--max-p95') });
  }
  if (flags.minThroughput !== undefined) {
    thresholds.push({ metric: 'throughput', flag: `--min-throughput ${flags.minThroughput}`, comparison: '>=', limit: parseNumber(flags.minThroughput, '--min-throughput') });
  }
  for (const [metric, text, flag] of [
    ['lost', flags.maxLost, '--max-lost'],
    ['duplicates', flags.maxDuplicates, '--max-duplicates'],
    ['failed', flags.maxFailed, '--max-failed'],
  ] as const) {
    if (text !== undefined) thresholds.push({ metric, flag: `${flag} ${text}`, comparison: '<=', limit: parseWhole(text, flag, 0) });
  }
  // A lost task fails the run unless the user allows some: that is the promise of the load test.
  if (flags.maxLost === undefined) thresholds.push({ metric: 'lost', flag: '--max-lost 0 (default)', comparison: '<=', limit: 0 });

  const scaleSteps = flags.scaleSteps === undefined ? undefined : parseSteps(flags.scaleSteps);
  return {
    queues,
    tasksPerQueue,
    ratePerSecond,
    payloadSize,
    workMs,
    failRate,
    crashRate,
    timeoutMs,
    settleMs,
    brokerTimeoutMs,
    purge: flags.purge === true,
    requireConsumers: flags.requireConsumers === true,
    thresholds,
    scaleSteps,
  };
}

function parseQueues(wanted: string[] | undefined, defaults: LoadTestDefaults): string[] {
  const known = [...new Set(defaults.queues)];
  if (!wanted || wanted.length === 0) return known;
  const queues = [...new Set(wanted.flatMap((text) => text.split(',')).map((text) => text.trim()))];
  for (const queue of queues) {
    if (!known.includes(queue)) throw usageError(`--queue: "${queue}" is not a queue of ${defaults.configFile} (${known.join(', ')})`);
  }
  return queues;
}

function parseNumber(text: string, flag: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) throw usageError(`${flag}: "${text}" is not a number`);
  if (value < 0) throw usageError(`${flag}: "${text}" is negative`);
  return value;
}

function parseRate(text: string): number {
  const value = parseNumber(text.trim().replace(/\/s$/, ''), '--rate');
  if (value <= 0) throw usageError(`--rate: "${text}" must be more than 0 tasks per second`);
  return value;
}

function parseWhole(text: string, flag: string, min: number): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`${flag}: "${text}" is not a whole number ≥ ${min}`);
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value)) throw usageError(`${flag}: "${text}" is too large`);
  if (value < min) throw usageError(`${flag}: "${text}" is not a whole number ≥ ${min}`);
  return value;
}

function parseFraction(text: string, flag: string): number {
  const value = parseNumber(text, flag);
  if (value > 1) throw usageError(`${flag}: "${text}" is not between 0 and 1`);
  return value;
}

function parseDuration(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw usageError(`${flag}: "${text}" is not a duration (examples: 300ms, 2s, 1m)`);
  return ms;
}

function parsePositiveDuration(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms <= 0) throw usageError(`${flag}: "${text}" is not a positive duration (examples: 30s, 2m)`);
  return ms;
}

/** "100" (ms) or "50-200" (uniform between). */
export function parseTaskMs(text: string, where: string): WorkMs {
  const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*(?:ms)?\s*$/.exec(text);
  if (!match) throw usageError(`${where}: "${text}" is not a task time in ms (examples: 100, 50-200)`);
  const min = Number(match[1]);
  if (match[2] === undefined) return min;
  const max = Number(match[2]);
  if (max < min) throw usageError(`${where}: "${text}" has its maximum below its minimum`);
  return min === max ? min : { min, max };
}

function parseSteps(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const steps = parts.map((part) => {
    if (!/^\d+$/.test(part) || Number(part) < 1) throw usageError(`--scale-steps: "${part}" in "${text}" is not a worker count ≥ 1 (example: 1,2,4)`);
    return Number(part);
  });
  return steps;
}
