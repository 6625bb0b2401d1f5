import type { LedgerReport, QueueReport, QueueTotals } from './accounting.js';
import type { ThresholdResult } from './thresholds.js';

/** The JSON document of one run (`--json`, `--out`); docs/load-test.md describes every field. */
export const LOAD_TEST_SCHEMA = 'qscale.load-test/v2';
/** The previous version: `--compare` still reads it (no pending/unconfirmed/recovered; `rejected`). */
export const LOAD_TEST_SCHEMA_V1 = 'qscale.load-test/v1';
export const SCALE_STEPS_SCHEMA = 'qscale.load-test-steps/v1';

export interface LoadTestSettings {
  queues: string[];
  tasksPerQueue: number;
  /** Tasks per second to each queue; null: as fast as confirms allow. */
  ratePerSecond: number | null;
  payloadSize: number;
  /** "100" or "50-200" (ms). */
  taskMs: string;
  failRate: number;
  crashRate: number;
  /** The timeout used: given, or the default (which counts the backlog found). */
  timeoutMs: number;
  settleMs: number;
  maxUnconfirmed: number;
  brokerTimeoutMs: number;
  /** The target queues were purged before publishing. */
  purged: boolean;
}

/** How the run ended. */
export type RunOutcome = 'finished' | 'timed-out' | 'interrupted';

/** A task queue before the run published anything. */
export interface QueueBacklog {
  queue: string;
  /** Messages already there (ready, + unacked when known, task queue and its quarantine queue). */
  messages: number;
  consumers: number;
}

/** What the broker did during the run, as the tester saw it. */
export interface BrokerHealth {
  /** Connection losses the tester lived through (reconnected each time). */
  outages: number;
  /** Total time without a connection, ms. */
  downMs: number;
  /** Time the broker blocked the publishing connection (memory or disk alarm), ms. */
  publishBlockedMs: number;
  /** Publishes sent again after a refusal or a cut-off (same task id). */
  republished: number;
  /** Per task queue: messages the broker held at the end (ready + unacked when known, quarantine included); null: not asked or no answer. */
  heldAtEnd: Record<string, number | null>;
  /** Whether heldAtEnd includes unacked messages (needs broker.management_url). */
  unackedKnown: boolean;
}

/** Why a timed-out run still had pending tasks, and what to do. */
export interface IncompleteRun {
  reason: 'backlog-ahead' | 'no-consumers' | 'timeout-too-short';
  /** A --timeout that should suffice, in ms. */
  suggestedTimeoutMs: number;
}

export interface LoadTestResult extends LedgerReport {
  schema: typeof LOAD_TEST_SCHEMA;
  runId: string;
  resultsQueue: string;
  /** ISO 8601, the load tester's clock. */
  startedAt: string;
  finishedAt: string;
  settings: LoadTestSettings;
  outcome: RunOutcome;
  /** true when the timeout expired before every task was accounted for. */
  timedOut: boolean;
  /** The signal that interrupted the run; null when it was not interrupted. */
  interrupted: 'SIGINT' | 'SIGTERM' | null;
  /** Queues that held messages, or had no consumer, before publishing. */
  backlog: QueueBacklog[];
  /** 'final' only when at the end the run's task queues held none of its messages; else more may come. */
  duplicatesStatus: 'final' | 'provisional';
  broker: BrokerHealth;
  /** Set when the run timed out with tasks pending. */
  incomplete: IncompleteRun | null;
  queues: QueueReport[];
  overall: QueueTotals;
  thresholds: ThresholdResult[];
  /** false when any threshold failed. */
  passed: boolean;
}

export interface ScaleStepEfficiency {
  workers: number;
  throughput: number;
  /** Throughput over the first step's. */
  speedup: number;
  /** Workers over the first step's: the speedup of perfect scaling. */
  linear: number;
  /** speedup / linear; 1 is perfectly linear. */
  efficiency: number;
}

export interface ScaleStepsResult {
  schema: typeof SCALE_STEPS_SCHEMA;
  runId: string;
  services: string[];
  steps: Array<{ workers: number; result: LoadTestResult }>;
  efficiency: ScaleStepEfficiency[];
  passed: boolean;
  /** A step was interrupted (SIGINT/SIGTERM): the steps after it did not run. */
  interrupted: boolean;
}

export function scalingEfficiency(steps: Array<{ workers: number; throughput: number }>): ScaleStepEfficiency[] {
  const [first] = steps;
  return steps.map(({ workers, throughput }) => {
    const speedup = first && first.throughput > 0 ? throughput / first.throughput : 0;
    const linear = first && first.workers > 0 ? workers / first.workers : 0;
    return { workers, throughput, speedup: round(speedup), linear: round(linear), efficiency: linear > 0 ? round(speedup / linear) : 0 };
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
