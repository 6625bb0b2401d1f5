import hdr from 'hdr-histogram-js';
import type { TaskOutcome, TaskResult } from '../../../templates/worker/src/protocol.js';

/**
 * Exact accounting of one load-test run: every task sent, every result that came back, and the
 * statistics derived from them. Pure: times are passed in, nothing here reads a clock.
 */

export interface LatencySummary {
  count: number;
  /** Milliseconds; null when there is no sample. */
  min: number | null;
  avg: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface WorkerCount {
  /** Completed attempts (duplicates included): the work the worker did. */
  completed: number;
  /** Attempts that ended in 'retrying' or 'dead-lettered'. */
  failedAttempts: number;
}

export interface QueueTotals {
  /** Tasks handed to the broker. */
  sent: number;
  /** Tasks the broker confirmed. */
  confirmed: number;
  /** Tasks the broker refused (nack) or that failed to publish. */
  rejected: number;
  /** Tasks completed at least once. */
  completed: number;
  /** Tasks dead-lettered and never completed. */
  failed: number;
  /** Tasks sent but neither completed nor dead-lettered when the run ended. */
  lost: number;
  /** Completions beyond the first, summed over tasks. */
  duplicates: number;
  /** Tasks completed more than once. */
  duplicatedTasks: number;
  /** 'retrying' results: attempts that failed and were requeued. */
  retries: number;
  /** Results carrying RabbitMQ's redelivered flag. */
  redelivered: number;
  /** First publish to the last task accounted for (completed or dead-lettered), in ms. */
  totalTimeMs: number;
  /** Completed tasks per second over totalTimeMs. */
  throughput: number;
  /** Arrival on the load tester's clock minus sentAt, for each task's first completion. */
  latencyMs: LatencySummary;
  /** Worker finishedAt − startedAt of each task's first completion. */
  processingMs: { count: number; avg: number | null; p95: number | null };
  workers: Record<string, WorkerCount>;
}

export interface QueueReport extends QueueTotals {
  queue: string;
}

export interface LedgerReport {
  queues: QueueReport[];
  overall: QueueTotals;
  /** Results for tasks this run never sent, or whose body is not a TaskResult. */
  unexpectedResults: number;
}

export type ResultVerdict = 'first-completion' | 'duplicate' | 'dead-lettered' | 'retrying' | 'unexpected';

interface TaskState {
  queue: string;
  sentAt: number;
  confirmed: boolean;
  rejected: boolean;
  completions: number;
  deadLettered: boolean;
}

const OUTCOMES: ReadonlySet<string> = new Set<TaskOutcome>(['completed', 'retrying', 'dead-lettered']);

/** Narrows an untrusted message body to a TaskResult; undefined when it is not one. */
export function asTaskResult(body: unknown): TaskResult | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = body as Record<string, unknown>;
  const ok =
    typeof value.taskId === 'string' &&
    typeof value.workerId === 'string' &&
    typeof value.outcome === 'string' &&
    OUTCOMES.has(value.outcome) &&
    typeof value.startedAt === 'number' &&
    typeof value.finishedAt === 'number';
  return ok ? (value as unknown as TaskResult) : undefined;
}

/** Percentiles from an HDR histogram; min, max and the mean exactly. Values are whole ms ≥ 0. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3, autoResize: true });
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(valueMs: number): void {
    const value = Math.max(0, Math.round(valueMs));
    this.histogram.recordValue(value);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, min: null, avg: null, p50: null, p90: null, p95: null, p99: null, max: null };
    const at = (percentile: number) => Math.min(this.max, this.histogram.getValueAtPercentile(percentile));
    return {
      count: this.count,
      min: this.min,
      avg: round(this.sum / this.count),
      p50: at(50),
      p90: at(90),
      p95: at(95),
      p99: at(99),
      max: this.max,
    };
  }
}

class QueueLedger {
  sent = 0;
  confirmed = 0;
  rejected = 0;
  completed = 0;
  failed = 0;
  duplicates = 0;
  duplicatedTasks = 0;
  retries = 0;
  redelivered = 0;
  firstSentAt = Infinity;
  lastAccountedAt = -Infinity;
  readonly latency = new LatencyRecorder();
  readonly processing = new LatencyRecorder();
  readonly workers = new Map<string, WorkerCount>();

  worker(id: string): WorkerCount {
    let count = this.workers.get(id);
    if (!count) this.workers.set(id, (count = { completed: 0, failedAttempts: 0 }));
    return count;
  }

  totals(): QueueTotals {
    const totalTimeMs = this.lastAccountedAt > this.firstSentAt ? this.lastAccountedAt - this.firstSentAt : 0;
    const latency = this.latency.summary();
    const processing = this.processing.summary();
    const workers = Object.fromEntries([...this.workers.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return {
      sent: this.sent,
      confirmed: this.confirmed,
      rejected: this.rejected,
      completed: this.completed,
      failed: this.failed,
      lost: this.sent - this.completed - this.failed,
      duplicates: this.duplicates,
      duplicatedTasks: this.duplicatedTasks,
      retries: this.retries,
      redelivered: this.redelivered,
      totalTimeMs,
      throughput: totalTimeMs > 0 ? round(this.completed / (totalTimeMs / 1000)) : 0,
      latencyMs: latency,
      processingMs: { count: processing.count, avg: processing.avg, p95: processing.p95 },
      workers,
    };
  }
}

export class RunLedger {
  private readonly tasks = new Map<string, TaskState>();
  private readonly queues = new Map<string, QueueLedger>();
  private readonly overall = new QueueLedger();
  private unexpected = 0;
  private accountedCount = 0;

  constructor(queues: string[]) {
    for (const queue of queues) this.queues.set(queue, new QueueLedger());
  }

  get sent(): number {
    return this.overall.sent;
  }

  get confirmed(): number {
    return this.overall.confirmed;
  }

  /** Tasks completed or dead-lettered. */
  get accounted(): number {
    return this.accountedCount;
  }

  get completed(): number {
    return this.overall.completed;
  }

  get failed(): number {
    return this.overall.failed;
  }

  get duplicates(): number {
    return this.overall.duplicates;
  }

  recordSent(queue: string, id: string, sentAt: number): void {
    if (this.tasks.has(id)) throw new Error(`task id ${id} sent twice`);
    const ledger = this.queueLedger(queue);
    this.tasks.set(id, { queue, sentAt, confirmed: false, rejected: false, completions: 0, deadLettered: false });
    for (const each of [ledger, this.overall]) {
      each.sent++;
      if (sentAt < each.firstSentAt) each.firstSentAt = sentAt;
    }
  }

  recordConfirmed(id: string): void {
    const task = this.tasks.get(id);
    if (!task || task.confirmed) return;
    task.confirmed = true;
    for (const each of this.ledgersOf(task)) each.confirmed++;
  }

  recordRejected(id: string): void {
    const task = this.tasks.get(id);
    if (!task || task.rejected || task.confirmed) return;
    task.rejected = true;
    for (const each of this.ledgersOf(task)) each.rejected++;
  }

  /** Books one result that arrived at `arrivedAt` (the load tester's clock). */
  recordResult(body: unknown, arrivedAt: number): ResultVerdict {
    const result = asTaskResult(body);
    const task = result && this.tasks.get(result.taskId);
    if (!result || !task) {
      this.unexpected++;
      return 'unexpected';
    }
    const ledgers = this.ledgersOf(task);
    const wasAccounted = task.completions > 0 || task.deadLettered;
    for (const each of ledgers) if (result.redelivered === true) each.redelivered++;

    if (result.outcome === 'completed') {
      task.completions++;
      for (const each of ledgers) each.worker(result.workerId).completed++;
      if (task.completions > 1) {
        for (const each of ledgers) {
          each.duplicates++;
          if (task.completions === 2) each.duplicatedTasks++;
        }
        return 'duplicate';
      }
      for (const each of ledgers) {
        each.completed++;
        // A task dead-lettered earlier and completed now (a stale redelivery) counts as completed.
        if (task.deadLettered) each.failed--;
        each.latency.record(arrivedAt - task.sentAt);
        each.processing.record(result.finishedAt - result.startedAt);
        if (arrivedAt > each.lastAccountedAt) each.lastAccountedAt = arrivedAt;
      }
      if (!wasAccounted) this.accountedCount++;
      return 'first-completion';
    }

    for (const each of ledgers) each.worker(result.workerId).failedAttempts++;
    if (result.outcome === 'retrying') {
      for (const each of ledgers) each.retries++;
      return 'retrying';
    }
    if (!task.deadLettered) {
      task.deadLettered = true;
      if (task.completions === 0) {
        for (const each of ledgers) {
          each.failed++;
          if (arrivedAt > each.lastAccountedAt) each.lastAccountedAt = arrivedAt;
        }
      }
    }
    if (!wasAccounted) this.accountedCount++;
    return 'dead-lettered';
  }

  report(): LedgerReport {
    return {
      queues: [...this.queues.entries()].map(([queue, ledger]) => ({ queue, ...ledger.totals() })),
      overall: this.overall.totals(),
      unexpectedResults: this.unexpected,
    };
  }

  private queueLedger(queue: string): QueueLedger {
    let ledger = this.queues.get(queue);
    if (!ledger) this.queues.set(queue, (ledger = new QueueLedger()));
    return ledger;
  }

  private ledgersOf(task: TaskState): QueueLedger[] {
    return [this.queueLedger(task.queue), this.overall];
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
