import { usageError } from '../errors.js';
import type { QueueTotals } from './accounting.js';
import { LOAD_TEST_SCHEMA, type LoadTestResult } from './report.js';

export interface ComparisonRow {
  metric: string;
  /** 'higher' when a bigger value is better, 'lower' when smaller is. */
  better: 'higher' | 'lower';
  a: number | null;
  b: number | null;
  /** b / a; null when either is missing or a is 0. */
  ratio: number | null;
}

export interface Comparison {
  a: { label: string; runId: string };
  b: { label: string; runId: string };
  rows: ComparisonRow[];
}

type Metric = [name: string, better: 'higher' | 'lower', pick: (totals: QueueTotals) => number | null];

const METRICS: Metric[] = [
  ['throughput (tasks/s)', 'higher', (t) => t.throughput],
  ['total time (ms)', 'lower', (t) => t.totalTimeMs],
  ['completed', 'higher', (t) => t.completed],
  ['failed', 'lower', (t) => t.failed],
  ['lost', 'lower', (t) => t.lost],
  ['duplicates', 'lower', (t) => t.duplicates],
  ['latency avg (ms)', 'lower', (t) => t.latencyMs.avg],
  ['latency p50 (ms)', 'lower', (t) => t.latencyMs.p50],
  ['latency p90 (ms)', 'lower', (t) => t.latencyMs.p90],
  ['latency p95 (ms)', 'lower', (t) => t.latencyMs.p95],
  ['latency p99 (ms)', 'lower', (t) => t.latencyMs.p99],
  ['latency max (ms)', 'lower', (t) => t.latencyMs.max],
  ['processing avg (ms)', 'lower', (t) => t.processingMs.avg],
  ['processing p95 (ms)', 'lower', (t) => t.processingMs.p95],
  ['workers', 'higher', (t) => Object.keys(t.workers).length],
];

/** Side by side: b against a, overall, then the throughput of each queue both runs have. */
export function compareResults(a: LoadTestResult, b: LoadTestResult, labels: [string, string] = ['a', 'b']): Comparison {
  const rows: ComparisonRow[] = METRICS.map(([metric, better, pick]) => row(metric, better, pick(a.overall), pick(b.overall)));
  for (const queueA of a.queues) {
    const queueB = b.queues.find((candidate) => candidate.queue === queueA.queue);
    if (queueB) rows.push(row(`${queueA.queue} throughput (tasks/s)`, 'higher', queueA.throughput, queueB.throughput));
  }
  return { a: { label: labels[0], runId: a.runId }, b: { label: labels[1], runId: b.runId }, rows };
}

function row(metric: string, better: 'higher' | 'lower', a: number | null, b: number | null): ComparisonRow {
  const ratio = a === null || b === null || a === 0 ? null : Math.round((b / a) * 1000) / 1000;
  return { metric, better, a, b, ratio };
}

/** Checks that a parsed JSON document is a load-test result; `where` names it in the error. */
export function asLoadTestResult(document: unknown, where: string): LoadTestResult {
  const value = document as Partial<LoadTestResult> | null;
  if (typeof value !== 'object' || value === null || value.schema !== LOAD_TEST_SCHEMA || typeof value.overall !== 'object' || !Array.isArray(value.queues)) {
    const schema = typeof value === 'object' && value !== null && 'schema' in value ? `schema "${String(value.schema)}"` : 'no schema field';
    throw usageError(`${where}: not a qscale load-test result (${schema}; expected "${LOAD_TEST_SCHEMA}")`, 'write one with `qscale load-test --out file.json`');
  }
  return value as LoadTestResult;
}
