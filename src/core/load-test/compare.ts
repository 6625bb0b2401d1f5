import { z } from 'zod';
import { usageError } from '../errors.js';
import type { QueueTotals } from './accounting.js';
import { LOAD_TEST_SCHEMA, LOAD_TEST_SCHEMA_V1, type LoadTestResult } from './report.js';

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

const nullableMs = z.number().nullable();
/** The fields `--compare` reads, in both schema versions (v1 lacks pending/unconfirmed/recovered). */
const totalsSchema = z.object({
  sent: z.number(),
  completed: z.number(),
  failed: z.number(),
  lost: z.number(),
  duplicates: z.number(),
  totalTimeMs: z.number(),
  throughput: z.number(),
  latencyMs: z.object({ avg: nullableMs, p50: nullableMs, p90: nullableMs, p95: nullableMs, p99: nullableMs, max: nullableMs }),
  processingMs: z.object({ avg: nullableMs, p95: nullableMs }),
  workers: z.record(z.string(), z.unknown()),
});
const resultSchema = z.object({
  schema: z.union([z.literal(LOAD_TEST_SCHEMA), z.literal(LOAD_TEST_SCHEMA_V1)]),
  runId: z.string(),
  overall: totalsSchema,
  queues: z.array(totalsSchema.extend({ queue: z.string() })),
});

/** Checks that a parsed JSON document is a load-test result (v2, or v1); `where` names it in the error. */
export function asLoadTestResult(document: unknown, where: string): LoadTestResult {
  const value = document as { schema?: unknown } | null;
  if (typeof value !== 'object' || value === null || (value.schema !== LOAD_TEST_SCHEMA && value.schema !== LOAD_TEST_SCHEMA_V1)) {
    const schema = typeof value === 'object' && value !== null && 'schema' in value ? `schema "${String(value.schema)}"` : 'no schema field';
    throw usageError(`${where}: not a qscale load-test result (${schema}; expected "${LOAD_TEST_SCHEMA}" or "${LOAD_TEST_SCHEMA_V1}")`, 'write one with `qscale load-test --out file.json`');
  }
  const parsed = resultSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map(String).join('.') || '(document)';
    throw usageError(`${where}: field ${field}: ${issue.message.replace(/^Invalid input: /, '')}`, 'write one with `qscale load-test --out file.json`');
  }
  return document as LoadTestResult;
}
