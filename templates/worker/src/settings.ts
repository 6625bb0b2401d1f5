import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_ATTEMPTS, STOP_TIMEOUT_ENV, type QueueType } from './protocol.js';
import { parseWorkMs, type WorkMs } from './task-work.js';
import type { LogLevel } from './log.js';

/** Everything the worker reads from its environment, parsed once at start. */
export interface WorkerSettings {
  brokerUrl: string;
  queue: string;
  prefetch: number;
  /** Tasks worked on at the same time; the rest of the prefetched ones wait their turn. */
  concurrency: number;
  /** Defaults for tasks whose message does not say. */
  work: { workMs: WorkMs; cpu: boolean; failRate: number; crashRate: number };
  /** classic or quorum: how the worker declares the task queue and its quarantine queue when they do not exist. */
  queueType: QueueType;
  maxAttempts: number;
  resultsQueue: string;
  workerId?: string;
  logLevel: LogLevel;
  heartbeatFile: string;
  /**
   * A drain that takes longer gives up and exits 1; unacked tasks then return to the queue.
   * DRAIN_TIMEOUT_MS, else the engine's stop timeout (QSCALE_STOP_TIMEOUT_MS) less a safety margin.
   */
  drainTimeoutMs: number;
}

/** The engine's stop timeout when qscale did not say (Docker's default). */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** The drain deadline for a stop timeout: exit before the engine's SIGKILL, with max(1 s, 10 %) to spare. */
export function drainTimeoutFor(stopTimeoutMs: number): number {
  return Math.max(100, stopTimeoutMs - Math.max(1_000, Math.round(stopTimeoutMs / 10)));
}

export const DEFAULT_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_RESULTS_QUEUE = 'qscale.results';
export const DEFAULT_HEARTBEAT_FILE = '/tmp/qscale-heartbeat';

export class SettingsError extends Error {
  override name = 'SettingsError';
}

type Env = Record<string, string | undefined>;

/** Reads a file's text (BROKER_URL_FILE); tests pass their own. */
export type ReadTextFile = (file: string) => string;

/** Reads the settings; throws a SettingsError naming the variable, what was expected and what came. */
export function readSettings(env: Env, readTextFile: ReadTextFile = (file) => readFileSync(file, 'utf8')): WorkerSettings {
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number) => {
    const value = text(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new SettingsError(`${name}: expected a whole number ≥ ${min}, got "${value}"`);
    return Number(value);
  };

  const queue = text('QUEUE');
  if (!queue) throw new SettingsError('QUEUE: expected the name of the queue to consume (e.g. task_a), got nothing');

  const taskMs = text('TASK_MS') ?? '100';
  const workMs = parseWorkMs(taskMs);
  if (workMs === undefined) throw new SettingsError(`TASK_MS: expected milliseconds as "100" or a range "50-200", got "${taskMs}"`);

  const failRateText = text('FAIL_RATE') ?? '0';
  const failRate = Number(failRateText);
  if (!/^\d*\.?\d+$/.test(failRateText) || failRate > 1) throw new SettingsError(`FAIL_RATE: expected a probability between 0 and 1, got "${failRateText}"`);

  const crashRateText = text('CRASH_RATE') ?? '0';
  const crashRate = Number(crashRateText);
  if (!/^\d*\.?\d+$/.test(crashRateText) || crashRate > 1) throw new SettingsError(`CRASH_RATE: expected a probability between 0 and 1, got "${crashRateText}"`);

  const queueType = (text('QUEUE_TYPE') ?? 'classic').toLowerCase();
  if (queueType !== 'classic' && queueType !== 'quorum') throw new SettingsError(`QUEUE_TYPE: expected classic or quorum, got "${queueType}"`);

  const cpuText = (text('TASK_CPU') ?? '0').toLowerCase();
  if (!['0', '1', 'true', 'false'].includes(cpuText)) throw new SettingsError(`TASK_CPU: expected 1 or 0, got "${cpuText}"`);

  const logLevel = (text('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!isLogLevel(logLevel)) throw new SettingsError(`LOG_LEVEL: expected debug, info, warn or error, got "${logLevel}"`);

  return {
    brokerUrl: brokerUrlOf(text('BROKER_URL'), text('BROKER_URL_FILE'), readTextFile),
    queue,
    prefetch: integer('PREFETCH', 10, 1),
    concurrency: integer('CONCURRENCY', 1, 1),
    work: { workMs, cpu: cpuText === '1' || cpuText === 'true', failRate, crashRate },
    queueType,
    maxAttempts: integer('MAX_ATTEMPTS', DEFAULT_MAX_ATTEMPTS, 1),
    resultsQueue: text('RESULTS_QUEUE') ?? DEFAULT_RESULTS_QUEUE,
    workerId: text('WORKER_ID'),
    logLevel,
    heartbeatFile: text('HEARTBEAT_FILE') ?? DEFAULT_HEARTBEAT_FILE,
    drainTimeoutMs: integer('DRAIN_TIMEOUT_MS', drainTimeoutFor(integer(STOP_TIMEOUT_ENV, DEFAULT_STOP_TIMEOUT_MS, 0)), 1),
  };
}

/**
 * BROKER_URL, or the URL in the file BROKER_URL_FILE names (a Compose or Swarm secret, so the
 * password is not in the container's environment). What the file holds is never shown.
 */
function brokerUrlOf(url: string | undefined, file: string | undefined, readTextFile: ReadTextFile): string {
  if (file === undefined) return url ?? DEFAULT_BROKER_URL;
  if (url !== undefined) throw new SettingsError('BROKER_URL_FILE: BROKER_URL is set too; set one of them');
  let content: string;
  try {
    content = readTextFile(file);
  } catch (error) {
    throw new SettingsError(`BROKER_URL_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const fromFile = content.trim();
  if (!/^amqps?:\/\/\S+$/.test(fromFile)) throw new SettingsError(`BROKER_URL_FILE: ${file} does not hold one amqp:// or amqps:// URL`);
  return fromFile;
}

function isLogLevel(value: string): value is LogLevel {
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error';
}
