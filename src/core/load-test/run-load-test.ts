import type { TaskMessage } from '../../../templates/worker/src/protocol.js';
import type { Clock } from '../clock.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { TaskBroker } from '../ports/task-broker.js';
import { RunLedger } from './accounting.js';
import { LOAD_TEST_SCHEMA, type LoadTestResult, type LoadTestSettings } from './report.js';
import { evaluateThresholds, type Threshold } from './thresholds.js';

export type WorkMs = number | { min: number; max: number };

/** What load to send and how long to wait for it: the validated flags. */
export interface LoadShape {
  queues: string[];
  tasksPerQueue: number;
  /** Tasks per second to each queue; undefined: full speed. */
  ratePerSecond?: number;
  payloadSize: number;
  workMs: WorkMs;
  failRate: number;
  /** How long to wait for results once everything is published. */
  timeoutMs: number;
  /** Once every task is accounted for, keep listening this long for late duplicates. */
  settleMs: number;
  thresholds: Threshold[];
}

export interface LoadTestPlan extends LoadShape {
  runId: string;
  /** Bound on published but unconfirmed messages. */
  maxUnconfirmed: number;
  resultsQueue: string;
}

export interface LoadTestProgress {
  runId: string;
  /** Tasks the run will send. */
  total: number;
  sent: number;
  confirmed: number;
  completed: number;
  failed: number;
  duplicates: number;
  elapsedMs: number;
}

export type LoadTestEvent =
  | { type: 'phase'; runId: string; phase: 'publishing' | 'collecting' | 'settling' | 'done' }
  | { type: 'progress'; progress: LoadTestProgress }
  | { type: 'notice'; message: string };

export interface LoadTestDependencies {
  broker: TaskBroker;
  clock: Clock;
  onEvent?: (event: LoadTestEvent) => void;
  signal?: AbortSignal;
  /** Minimum time between two progress events. */
  progressIntervalMs?: number;
}

export const DEFAULT_MAX_UNCONFIRMED = 1000;

/** The highest task duration a plan asks for, in ms. */
export function maxWorkMs(workMs: WorkMs): number {
  return typeof workMs === 'number' ? workMs : workMs.max;
}

/**
 * When to give up waiting, if the user did not say: 30 s, plus the time one worker would need to
 * run a queue's tasks one after another, plus the publishing time when paced.
 */
export function defaultTimeoutMs(tasksPerQueue: number, workMs: WorkMs): number {
  return 30_000 + tasksPerQueue * maxWorkMs(workMs);
}

/** Scheduled send time of the k-th task of each queue, relative to the start, at `ratePerSecond`. */
export function scheduledOffsetMs(k: number, ratePerSecond: number | undefined): number {
  return ratePerSecond ? (k * 1000) / ratePerSecond : 0;
}

/**
 * Waits until a condition holds. Whoever changes the state calls `check()`, which evaluates only the
 * conditions someone is waiting on: a result or a confirm costs one comparison, not a wake-up of
 * every waiter, and the publisher, woken by a confirm, runs after the whole batch of confirms that
 * arrived with it (a microtask later) and refills the window in one go.
 */
class Conditions {
  private waiting: Array<{ holds: () => boolean; resolve: () => void }> = [];

  until(holds: () => boolean): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ holds, resolve }));
  }

  check(): void {
    if (this.waiting.length === 0) return;
    const still: typeof this.waiting = [];
    for (const waiter of this.waiting) {
      if (waiter.holds()) waiter.resolve();
      else still.push(waiter);
    }
    this.waiting = still;
  }
}

/**
 * Runs one load test: declares the run's results queue, publishes the tasks (paced, with
 * confirms, a bounded number unconfirmed, waiting for 'drain'), collects results until every task
 * is accounted for or the timeout expires, and returns the whole accounting. Deletes the results
 * queue it made; never touches the task queues beyond declaring them.
 */
export async function runLoadTest(deps: LoadTestDependencies, plan: LoadTestPlan): Promise<LoadTestResult> {
  const { broker, clock, signal } = deps;
  const emit = deps.onEvent ?? (() => {});
  const progressIntervalMs = deps.progressIntervalMs ?? 200;
  const ledger = new RunLedger(plan.queues);
  const conditions = new Conditions();
  const total = plan.tasksPerQueue * plan.queues.length;
  const startedAt = clock.now();
  let lastProgressAt = -Infinity;
  let unconfirmed = 0;
  let rejectedCount = 0;
  let timedOut = false;
  const aborted = () => signal?.aborted === true;

  const progress = (force = false) => {
    const now = clock.now();
    if (!force && now - lastProgressAt < progressIntervalMs) return;
    lastProgressAt = now;
    emit({
      type: 'progress',
      progress: {
        runId: plan.runId,
        total,
        sent: ledger.sent,
        confirmed: ledger.confirmed,
        completed: ledger.completed,
        failed: ledger.failed,
        duplicates: ledger.duplicates,
        elapsedMs: now - startedAt,
      },
    });
  };
  const allAccounted = () => ledger.accounted + rejectedCount >= total;
  /** The confirm callback of the task `id`; one closure per task, no promise. */
  const onConfirm = (id: string) => (error?: Error) => {
    if (error) {
      ledger.recordRejected(id);
      rejectedCount++;
    } else {
      ledger.recordConfirmed(id);
    }
    unconfirmed--;
    conditions.check();
  };

  throwIfAborted(signal);
  for (const queue of plan.queues) await broker.ensureTaskQueue(queue);
  await broker.createResultsQueue(plan.resultsQueue);
  // One listener for the whole run: every wait below includes `aborted()` in its condition.
  const onAbort = () => conditions.check();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const subscription = await broker.consumeResults(plan.resultsQueue, (delivery) => {
      ledger.recordResult(delivery.body, clock.now());
      progress();
      conditions.check();
    });
    try {
      emit({ type: 'phase', runId: plan.runId, phase: 'publishing' });
      const payload = plan.payloadSize > 0 ? 'x'.repeat(plan.payloadSize) : undefined;
      const windowHasRoom = () => unconfirmed < plan.maxUnconfirmed || aborted();
      const publishStart = clock.now();
      for (let k = 0; k < plan.tasksPerQueue; k++) {
        const due = publishStart + scheduledOffsetMs(k, plan.ratePerSecond);
        const wait = due - clock.now();
        if (wait > 0) await sleepOrAbort(clock, wait, signal);
        for (let q = 0; q < plan.queues.length; q++) {
          if (unconfirmed >= plan.maxUnconfirmed) await conditions.until(windowHasRoom);
          throwIfAborted(signal);
          const queue = plan.queues[q];
          const id = `${plan.runId}-${q}-${k}`;
          const sentAt = clock.now();
          const task: TaskMessage = { id, run: plan.runId, sentAt, workMs: plan.workMs };
          if (plan.failRate > 0) task.failRate = plan.failRate;
          if (payload) task.payload = payload;
          ledger.recordSent(queue, id, sentAt);
          unconfirmed++;
          let accepted;
          try {
            accepted = broker.publishTask(queue, task, plan.resultsQueue, onConfirm(id));
          } catch (error) {
            throw new QscaleError('BROKER_FAILED', `publishing to ${queue} failed: ${(error as Error).message}`, { cause: error });
          }
          if (!accepted) await raceAbort(broker.drained(), signal);
        }
        progress();
      }

      emit({ type: 'phase', runId: plan.runId, phase: 'collecting' });
      progress(true);
      // One deadline timer for the whole wait, not one per result.
      const deadline = new AbortController();
      clock.sleep(plan.timeoutMs, deadline.signal).then(
        () => {
          timedOut = true;
          conditions.check();
        },
        () => {},
      );
      try {
        await conditions.until(() => (allAccounted() && unconfirmed === 0) || timedOut || aborted());
      } finally {
        deadline.abort();
      }
      throwIfAborted(signal);
      timedOut = timedOut && !(allAccounted() && unconfirmed === 0);
      if (!timedOut && plan.settleMs > 0) {
        emit({ type: 'phase', runId: plan.runId, phase: 'settling' });
        await sleepOrAbort(clock, plan.settleMs, signal);
      }
    } finally {
      await subscription.cancel().catch(() => {});
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await broker.deleteResultsQueue(plan.resultsQueue).catch(() => {});
  }
  throwIfAborted(signal);
  progress(true);
  emit({ type: 'phase', runId: plan.runId, phase: 'done' });

  const ledgerReport = ledger.report();
  const thresholds = evaluateThresholds(plan.thresholds, ledgerReport.overall);
  const settings: LoadTestSettings = {
    queues: plan.queues,
    tasksPerQueue: plan.tasksPerQueue,
    ratePerSecond: plan.ratePerSecond ?? null,
    payloadSize: plan.payloadSize,
    taskMs: typeof plan.workMs === 'number' ? String(plan.workMs) : `${plan.workMs.min}-${plan.workMs.max}`,
    failRate: plan.failRate,
    timeoutMs: plan.timeoutMs,
    settleMs: plan.settleMs,
    maxUnconfirmed: plan.maxUnconfirmed,
  };
  return {
    schema: LOAD_TEST_SCHEMA,
    runId: plan.runId,
    resultsQueue: plan.resultsQueue,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(clock.now()).toISOString(),
    settings,
    timedOut,
    ...ledgerReport,
    thresholds,
    passed: thresholds.every((threshold) => threshold.passed),
  };
}

async function sleepOrAbort(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch {
    throwIfAborted(signal);
  }
}

function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | void> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new QscaleError('ABORTED', 'interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });
}
