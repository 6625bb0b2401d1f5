import type { QueueTotals } from './accounting.js';

/** A k6-style pass/fail condition on the overall result of a run. */
export type ThresholdMetric = 'p95' | 'throughput' | 'lost' | 'duplicates' | 'failed';

export interface Threshold {
  metric: ThresholdMetric;
  /** The flag that set it, as the user typed it, for the summary. */
  flag: string;
  comparison: '<=' | '>=';
  limit: number;
}

export interface ThresholdResult extends Threshold {
  /** null when the run produced no value (no completed task for a latency threshold): a failure. */
  actual: number | null;
  passed: boolean;
}

const UNIT: Record<ThresholdMetric, string> = { p95: 'ms', throughput: ' tasks/s', lost: '', duplicates: '', failed: '' };

export function thresholdValue(metric: ThresholdMetric, totals: QueueTotals): number | null {
  switch (metric) {
    case 'p95':
      return totals.latencyMs.p95;
    case 'throughput':
      return totals.throughput;
    case 'lost':
      return totals.lost;
    case 'duplicates':
      return totals.duplicates;
    case 'failed':
      return totals.failed;
  }
}

export function evaluateThresholds(thresholds: Threshold[], totals: QueueTotals): ThresholdResult[] {
  return thresholds.map((threshold) => {
    const actual = thresholdValue(threshold.metric, totals);
    const passed = actual !== null && (threshold.comparison === '<=' ? actual <= threshold.limit : actual >= threshold.limit);
    return { ...threshold, actual, passed };
  });
}

/** "--max-p95 300ms: p95 latency 412ms > 300ms" */
export function describeThreshold(result: ThresholdResult): string {
  const unit = UNIT[result.metric];
  const name = result.metric === 'p95' ? 'p95 latency' : result.metric;
  const actual = result.actual === null ? 'no value' : `${result.actual}${unit}`;
  const relation = result.passed ? result.comparison.replace('<=', '≤').replace('>=', '≥') : result.comparison === '<=' ? '>' : '<';
  return `${result.flag}: ${name} ${actual} ${relation} ${result.limit}${unit}`;
}
