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
  /** Tasks handed to the broker (each counted once, however often it was republished). */
  sent: number;
  /** Tasks the broker confirmed (at least one publish of it acked). */
  confirmed: number;
  /** Tasks no publish of which the broker ever confirmed, after retries (refused, or cut off by a fault). */
  unconfirmed: number;
  /** Tasks whose publish was cut off by a fault (no confirm could come), yet completed. */
  recovered: number;
  /** Tasks completed at least once. */
  completed: number;
  /** Tasks dead-lettered and never completed. */
  failed: number;
  /** Why the failed tasks failed: the dead-lettered result's error, counted. */
  failureReasons: Record<string, number>;
  /**
   * Tasks neither completed nor dead-lettered that the broker still held at the end (ready or
   * unacked in the task queue or its quarantine queue): at most what the broker reported.
   */
  pending: number;
  /** Confirmed tasks, neither completed nor dead-lettered, that the broker no longer holds. */
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
  /** A publish of it was cut off by a connection loss: its fate was unknown for a while. */
  cutOff: boolean;
  completions: number;
  deadLettered: boolean;
  failureReason?: string;
}

/** What the broker held at the end, per task queue (task queue + quarantine, ready + unacked). */
export type HeldByBroker = Map<string, number | undefined>;

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
  completed = 0;
  failed = 0;
  readonly failureReasons = new Map<string, number>();
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

  /** `end`: the categories only the whole task list and the broker's counts can tell. */
  totals(end: { unconfirmed: number; recovered: number; pending: number; lost: number }): QueueTotals {
    const totalTimeMs = this.lastAccountedAt > this.firstSentAt ? this.lastAccountedAt - this.firstSentAt : 0;
    const latency = this.latency.summary();
    const processing = this.processing.summary();
    const workers = Object.fromEntries([...this.workers.entries()].sort(([a], [b]) => a.localeCompare(b)));
    return {
      sent: this.sent,
      confirmed: this.confirmed,
      unconfirmed: end.unconfirmed,
      recovered: end.recovered,
      completed: this.completed,
      failed: this.failed,
      failureReasons: Object.fromEntries([...this.failureReasons.entries()].sort(([a], [b]) => a.localeCompare(b))),
      pending: end.pending,
      lost: end.lost,
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
    this.tasks.set(id, { queue, sentAt, confirmed: false, cutOff: false, completions: 0, deadLettered: false });
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

  /** A publish of the task was cut off by a fault: no confirm can come for it. */
  recordCutOff(id: string): void {
    const task = this.tasks.get(id);
    if (task) task.cutOff = true;
  }

  /** Completed or dead-lettered. */
  isAccounted(id: string): boolean {
    const task = this.tasks.get(id);
    return task !== undefined && (task.completions > 0 || task.deadLettered);
  }

  /** Tasks neither completed nor dead-lettered. */
  get unaccounted(): number {
    return this.overall.sent - this.accountedCount;
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
        if (task.deadLettered) {
          each.failed--;
          const reason = task.failureReason ?? 'no reason given';
          each.failureReasons.set(reason, (each.failureReasons.get(reason) ?? 0) - 1);
          if (each.failureReasons.get(reason) === 0) each.failureReasons.delete(reason);
        }
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
      task.failureReason = result.error || 'no reason given';
      if (task.completions === 0) {
        for (const each of ledgers) {
          each.failed++;
          each.failureReasons.set(task.failureReason, (each.failureReasons.get(task.failureReason) ?? 0) + 1);
          if (arrivedAt > each.lastAccountedAt) each.lastAccountedAt = arrivedAt;
        }
      }
    }
    if (!wasAccounted) this.accountedCount++;
    return 'dead-lettered';
  }

  /**
   * The accounting at the end of the run. `held`: what the broker still held of each task queue
   * (undefined when it could not be asked). Tasks still unaccounted for are pending up to what the
   * broker holds — a count, never invented — and only confirmed tasks beyond that are lost.
   */
  report(held: HeldByBroker = new Map()): LedgerReport {
    const end = new Map<string, { unconfirmed: number; recovered: number; confirmedOpen: number; open: number }>();
    for (const queue of this.queues.keys()) end.set(queue, { unconfirmed: 0, recovered: 0, confirmedOpen: 0, open: 0 });
    for (const task of this.tasks.values()) {
      const counts = end.get(task.queue) as { unconfirmed: number; recovered: number; confirmedOpen: number; open: number };
      const accounted = task.completions > 0 || task.deadLettered;
      if (!task.confirmed) counts.unconfirmed++;
      if (task.cutOff && task.completions > 0) counts.recovered++;
      if (!accounted) {
        counts.open++;
        if (task.confirmed) counts.confirmedOpen++;
      }
    }
    const overallEnd = { unconfirmed: 0, recovered: 0, pending: 0, lost: 0 };
    const queues = [...this.queues.entries()].map(([queue, ledger]) => {
      const counts = end.get(queue) as { unconfirmed: number; recovered: number; confirmedOpen: number; open: number };
      const pending = Math.min(counts.open, held.get(queue) ?? 0);
      const lost = Math.max(0, counts.confirmedOpen - pending);
      const queueEnd = { unconfirmed: counts.unconfirmed, recovered: counts.recovered, pending, lost };
      for (const key of Object.keys(overallEnd) as Array<keyof typeof overallEnd>) overallEnd[key] += queueEnd[key];
      return { queue, ...ledger.totals(queueEnd) };
    });
    return { queues, overall: this.overall.totals(overallEnd), unexpectedResults: this.unexpected };
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
