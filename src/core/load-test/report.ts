import type { LedgerReport, QueueReport, QueueTotals } from './accounting.js';
import type { ThresholdResult } from './thresholds.js';

/** The JSON document of one run (`--json`, `--out`); docs/load-test.md describes every field. */
export const LOAD_TEST_SCHEMA = 'qscale.load-test/v1';
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
  timeoutMs: number;
  settleMs: number;
  maxUnconfirmed: number;
}

export interface LoadTestResult extends LedgerReport {
  schema: typeof LOAD_TEST_SCHEMA;
  runId: string;
  resultsQueue: string;
  /** ISO 8601, the load tester's clock. */
  startedAt: string;
  finishedAt: string;
  settings: LoadTestSettings;
  /** true when the timeout expired before every task was accounted for. */
  timedOut: boolean;
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
