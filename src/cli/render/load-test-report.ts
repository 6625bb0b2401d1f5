import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import { formatDuration } from '../../core/duration.js';
import type { LatencySummary, QueueTotals } from '../../core/load-test/accounting.js';
import type { Comparison } from '../../core/load-test/compare.js';
import type { LoadTestResult, ScaleStepsResult } from '../../core/load-test/report.js';
import type { LoadTestEvent, LoadTestProgress } from '../../core/load-test/run-load-test.js';
import type { ScaleStepEvent } from '../../core/load-test/scale-steps.js';
import { describeThreshold } from '../../core/load-test/thresholds.js';
import type { Output } from '../output.js';

function table(out: Output, head: string[]): Table.Table {
  return new Table({
    head: head.map((title) => out.color.bold(title)),
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
  });
}

const ms = (value: number | null) => (value === null ? '-' : String(value));

/** The human summary of one run: counts, latency and workers per queue and overall, thresholds. */
export function renderLoadTestReport(out: Output, result: LoadTestResult): string {
  const { color } = out;
  const s = result.settings;
  const pace = s.ratePerSecond === null ? 'full speed' : `${s.ratePerSecond}/s per queue`;
  const lines = [
    `load test ${color.bold(result.runId)} · ${s.queues.length} queue${s.queues.length === 1 ? '' : 's'} × ${s.tasksPerQueue} tasks · ${pace} · task ${s.taskMs}ms` +
      (s.failRate > 0 ? ` · fail rate ${s.failRate}` : '') +
      (s.payloadSize > 0 ? ` · payload ${s.payloadSize}B` : ''),
  ];
  if (result.outcome === 'interrupted') lines.push(color.yellow(`interrupted by ${result.interrupted}: partial figures; pending = what the broker still held`));
  if (result.timedOut) lines.push(color.yellow(`timed out after ${formatDuration(s.timeoutMs)} waiting for results`));
  for (const queue of result.backlog) {
    if (queue.messages > 0) lines.push(color.yellow(`${queue.queue} already held ${queue.messages.toLocaleString('en-US')} messages before the run`));
    if (queue.consumers === 0) lines.push(color.yellow(`${queue.queue} had no consumer when the run started`));
  }
  const broker = result.broker;
  if (broker.outages > 0) lines.push(color.yellow(`broker unreachable ${broker.outages}× for ${formatDuration(broker.downMs)} in all; ${broker.republished} publishes sent again`));
  else if (broker.republished > 0) lines.push(color.yellow(`${broker.republished} publishes sent again after the broker refused them`));
  if (broker.publishBlockedMs > 0) lines.push(color.yellow(`publishing blocked by the broker (alarm) for ${(broker.publishBlockedMs / 1000).toFixed(1)} s`));

  const rows: Array<[string, QueueTotals]> = [...result.queues.map((queue) => [queue.queue, queue] as [string, QueueTotals]), ['all', result.overall]];
  const counts = table(out, ['QUEUE', 'SENT', 'CONFIRMED', 'UNCONFIRMED', 'RECOVERED', 'COMPLETED', 'FAILED', 'PENDING', 'LOST', 'DUPLICATES', 'RETRIES', 'TIME', 'TASKS/S']);
  const flag = (value: number, paint: (text: string) => string) => (value > 0 ? paint(String(value)) : '0');
  for (const [name, totals] of rows) {
    counts.push([
      name === 'all' ? color.bold(name) : name,
      totals.sent,
      totals.confirmed,
      flag(totals.unconfirmed, color.yellow),
      totals.recovered,
      totals.completed,
      flag(totals.failed, color.yellow),
      flag(totals.pending, color.yellow),
      flag(totals.lost, color.red),
      flag(totals.duplicates, color.yellow) + (totals.duplicates > 0 && result.duplicatesStatus === 'provisional' ? ' (so far)' : ''),
      totals.retries,
      formatDuration(totals.totalTimeMs),
      totals.throughput,
    ]);
  }
  lines.push('', counts.toString());
  const reasons = Object.entries(result.overall.failureReasons);
  if (reasons.length > 0) lines.push(`failed: ${reasons.map(([reason, count]) => `${count} ${reason}`).join(', ')}`);
  if (result.overall.pending > 0) lines.push(color.yellow(`${result.overall.pending} tasks still in the broker at the end (pending, not lost)`));
  const unasked = Object.entries(broker.heldAtEnd).filter(([, held]) => held === null).map(([queue]) => queue);
  if (unasked.length > 0 && result.overall.lost > 0) lines.push(color.yellow(`the broker could not be asked what ${unasked.join(', ')} still held: some of the lost tasks may still be queued`));
  else if (!broker.unackedKnown && result.overall.lost > 0) lines.push(color.yellow('unacked counts unknown (no worker answered report-state, no broker.management_url): some of the lost tasks may be held by workers'));

  const latency = table(out, ['LATENCY ms', 'MIN', 'AVG', 'P50', 'P90', 'P95', 'P99', 'MAX', 'PROC AVG', 'PROC P95']);
  for (const [name, totals] of rows) {
    const l: LatencySummary = totals.latencyMs;
    latency.push([name === 'all' ? color.bold(name) : name, ms(l.min), ms(l.avg), ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99), ms(l.max), ms(totals.processingMs.avg), ms(totals.processingMs.p95)]);
  }
  lines.push('', latency.toString());

  const workers = table(out, ['WORKER', 'COMPLETED', 'FAILED ATTEMPTS']);
  for (const [id, count] of Object.entries(result.overall.workers)) workers.push([id, count.completed, count.failedAttempts]);
  if (Object.keys(result.overall.workers).length > 0) lines.push('', workers.toString());
  if (result.unexpectedResults > 0) lines.push(color.yellow(`${result.unexpectedResults} results for tasks this run did not send, or not readable`));

  if (result.thresholds.length > 0) {
    lines.push('', 'thresholds:');
    for (const threshold of result.thresholds) lines.push(`  ${threshold.passed ? color.green('✔') : color.red('✘')} ${describeThreshold(threshold)}`);
  }
  return lines.join('\n');
}

export function renderScaleSteps(out: Output, result: ScaleStepsResult): string {
  const lines = result.steps.map(({ workers, result: step }) => `${out.color.bold(`── ${workers} worker${workers === 1 ? '' : 's'} per service ──`)}\n${renderLoadTestReport(out, step)}`);
  const efficiency = table(out, ['WORKERS', 'TASKS/S', 'SPEEDUP', 'LINEAR', 'EFFICIENCY']);
  for (const step of result.efficiency) efficiency.push([step.workers, step.throughput, `${step.speedup}×`, `${step.linear}×`, `${Math.round(step.efficiency * 100)}%`]);
  lines.push(`${out.color.bold(`scaling efficiency (${result.services.join(', ')})`)}\n${efficiency.toString()}`);
  return lines.join('\n\n');
}

export function renderComparison(out: Output, comparison: Comparison): string {
  const output = table(out, ['METRIC', comparison.a.label, comparison.b.label, 'B/A']);
  for (const row of comparison.rows) {
    let ratio = row.ratio === null ? '-' : `${row.ratio}×`;
    if (row.ratio !== null && row.ratio !== 1) {
      const better = row.better === 'higher' ? row.ratio > 1 : row.ratio < 1;
      ratio = better ? out.color.green(ratio) : out.color.red(ratio);
    }
    output.push([row.metric, row.a ?? '-', row.b ?? '-', ratio]);
  }
  return `${out.color.dim(`A = ${comparison.a.runId}, B = ${comparison.b.runId}`)}\n${output.toString()}`;
}

export interface LoadTestProgressView {
  onEvent(event: LoadTestEvent): void;
  onStep(event: ScaleStepEvent): void;
  stop(): void;
}

/**
 * Progress on stderr: a cli-progress bar on a terminal (completed/sent, rate, ETA), else a plain
 * line at most every `plainIntervalMs`. Quiet prints nothing.
 */
export function loadTestProgressView(out: Output, mode: 'bar' | 'plain' | 'quiet', now: () => number, plainIntervalMs = 2000): LoadTestProgressView {
  let bar: cliProgress.SingleBar | undefined;
  let lastPlainAt = -Infinity;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    stop,
    onStep(event) {
      if (mode === 'quiet') return;
      stop();
      if (event.type === 'step') out.info(`scale step ${event.workers}: ${event.phase.replace(/-/g, ' ')}`);
      else out.info(`restoring replicas: ${Object.entries(event.counts).map(([service, count]) => `${service}=${count}`).join(', ')}`);
    },
    onEvent(event) {
      if (mode === 'quiet') return;
      if (event.type === 'notice' || event.type === 'warning') {
        stop();
        if (event.type === 'warning') out.warn(event.message);
        else out.info(event.message);
        return;
      }
      if (event.type === 'phase') {
        if (event.phase === 'done') stop();
        // On a terminal the bar says it all; a line written under it would break it.
        else if (mode === 'plain') out.info(`${event.runId}: ${event.phase}`);
        return;
      }
      const p = event.progress;
      const rate = p.elapsedMs > 0 ? Math.round((p.completed / p.elapsedMs) * 1000) : 0;
      if (mode === 'bar') {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: out.progressStream as unknown as NodeJS.WritableStream,
              format: ' {bar} {value}/{total} completed · sent {sent} · {rate} tasks/s · failed {failed} · dup {duplicates} · ETA {eta_formatted}{broker}',
              hideCursor: true,
              clearOnComplete: false,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.total, 0, { sent: 0, rate: 0, failed: 0, duplicates: 0, broker: '' });
        }
        bar.update(p.completed + p.failed, { sent: p.sent, rate, failed: p.failed, duplicates: p.duplicates, broker: brokerState(p) });
        return;
      }
      const at = now();
      const finished = p.completed + p.failed >= p.total;
      if (at - lastPlainAt < plainIntervalMs && !finished && p.brokerDownMs === undefined) return;
      if (at - lastPlainAt < plainIntervalMs && p.brokerDownMs !== undefined && lastPlainAt > -Infinity && p.brokerDownMs > 0) return;
      lastPlainAt = at;
      out.info(`${p.runId}: sent ${p.sent}/${p.total} · confirmed ${p.confirmed} · completed ${p.completed} · failed ${p.failed} · duplicates ${p.duplicates} · ${rate} tasks/s · ${formatDuration(p.elapsedMs)}${brokerState(p)}`);
    },
  };
}

/** " · broker down 12s" while the broker is unreachable, " · publishing blocked 3s" during an alarm. */
function brokerState(p: LoadTestProgress): string {
  if (p.brokerDownMs !== undefined) return ` · broker down ${formatDuration(p.brokerDownMs)}, reconnecting`;
  if (p.blockedMs !== undefined) return ` · publishing blocked ${formatDuration(p.blockedMs)}`;
  return '';
}
