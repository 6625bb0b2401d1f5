import { quarantineQueueOf, type TaskMessage } from '../../../templates/worker/src/protocol.js';
import type { Clock } from '../clock.js';
import { Interrupt, QscaleError, throwIfAborted } from '../errors.js';
import type { ConfirmFailure, ResultSubscription, TaskBroker } from '../ports/task-broker.js';
import { RunLedger, type HeldByBroker } from './accounting.js';
import { LOAD_TEST_SCHEMA, type IncompleteRun, type LoadTestResult, type LoadTestSettings, type QueueBacklog, type RunOutcome } from './report.js';
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
  /** Probability that a task kills its worker (0: never). */
  crashRate: number;
  /**
   * How long to wait for results once publishing is over; undefined: the default, computed when
   * the run starts from the tasks and the backlog found in the queues.
   */
  timeoutMs?: number;
  /** Once every task is accounted for, keep listening this long for late duplicates. */
  settleMs: number;
  /** How long the broker may stay unreachable before the run gives up (exit 1). */
  brokerTimeoutMs: number;
  /** Empty the target queues before publishing (the CLI asks first). */
  purge: boolean;
  /** A queue without a consumer is an error before publishing, not a warning. */
  requireConsumers: boolean;
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
  /** Set while the broker is unreachable: for how long, ms. */
  brokerDownMs?: number;
  /** Set while the broker blocks publishing (alarm): for how long, ms. */
  blockedMs?: number;
}

export type LoadTestEvent =
  | { type: 'phase'; runId: string; phase: 'publishing' | 'collecting' | 'settling' | 'done' }
  | { type: 'progress'; progress: LoadTestProgress }
  | { type: 'notice'; message: string }
  | { type: 'warning'; message: string };

export interface LoadTestDependencies {
  broker: TaskBroker;
  clock: Clock;
  onEvent?: (event: LoadTestEvent) => void;
  signal?: AbortSignal;
  /** Minimum time between two progress events. */
  progressIntervalMs?: number;
  /** Picks the crash tasks (`crashRate`); Math.random unless a test fixes it. */
  random?: () => number;
}

export const DEFAULT_MAX_UNCONFIRMED = 1000;
export const DEFAULT_BROKER_TIMEOUT_MS = 60_000;
/** How often one task is published before it counts as unconfirmed (refusals and cut-offs). */
export const MAX_PUBLISH_ATTEMPTS = 5;
/** Tasks' deadline is the run's end plus this: time to count what the broker holds and cancel. */
export const DEADLINE_GRACE_MS = 10_000;
/** The results queue outlives the run's end by this much before the broker drops it (x-expires). */
const RESULTS_QUEUE_SLACK_MS = 60_000;
/** Questions to the broker after the run ended (counts, cancel, clean-up) give up after this. */
const FINAL_CALL_TIMEOUT_MS = 5_000;
/** After the final count, results already published by workers still arrive for this long. */
const RESULTS_IN_FLIGHT_MS = 1_000;
/** How long the workers have to say what they hold at the end of a run. */
const WORKER_REPORT_TIMEOUT_MS = 1_500;
const RECONNECT_FIRST_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 2_000;

/** The highest task duration a plan asks for, in ms. */
export function maxWorkMs(workMs: WorkMs): number {
  return typeof workMs === 'number' ? workMs : workMs.max;
}

/**
 * When to give up waiting, if the user did not say: 30 s, plus the time one worker would need to
 * run a queue's tasks — and the messages already waiting ahead of them — one after another.
 */
export function defaultTimeoutMs(tasksPerQueue: number, workMs: WorkMs, backlog = 0): number {
  return 30_000 + (tasksPerQueue + backlog) * maxWorkMs(workMs);
}

/** Scheduled send time of the k-th task of each queue, relative to the start, at `ratePerSecond`. */
export function scheduledOffsetMs(k: number, ratePerSecond: number | undefined): number {
  return ratePerSecond ? (k * 1000) / ratePerSecond : 0;
}

/** How long publishing may take before the timeout starts eating into it: the paced duration, else 2 ms a task. */
export function publishAllowanceMs(tasksPerQueue: number, queues: number, ratePerSecond: number | undefined): number {
  return ratePerSecond ? Math.ceil(scheduledOffsetMs(tasksPerQueue - 1, ratePerSecond)) + 1000 : tasksPerQueue * queues * 2;
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

/** A task not yet confirmed: what to publish again after a refusal or a cut-off. */
interface Unconfirmed {
  queue: string;
  task: TaskMessage;
  attempts: number;
}

type StopReason = 'timed-out' | 'interrupted' | 'broker-gone';

/**
 * Runs one load test: looks at the target queues (backlog, consumers), declares the run's results
 * queue, publishes the tasks (paced, with confirms, a bounded number unconfirmed, waiting for
 * 'drain'), collects results until every task is accounted for, the run's end passes or it is
 * interrupted — reconnecting and republishing through broker outages — then asks the broker what
 * it still holds and returns the whole accounting. A run that ends early broadcasts `cancel-run`
 * so the workers drop its remaining tasks. Deletes the results queue it made; never touches the
 * task queues beyond declaring them (and purging them when asked).
 */
export async function runLoadTest(deps: LoadTestDependencies, plan: LoadTestPlan): Promise<LoadTestResult> {
  const random = deps.random ?? Math.random;
  const { broker, clock, signal } = deps;
  const emit = deps.onEvent ?? (() => {});
  const progressIntervalMs = deps.progressIntervalMs ?? 200;
  const ledger = new RunLedger(plan.queues);
  const conditions = new Conditions();
  const total = plan.tasksPerQueue * plan.queues.length;
  const startedAt = clock.now();
  let lastProgressAt = -Infinity;
  let outstanding = 0;
  const unconfirmed = new Map<string, Unconfirmed>();
  const retry: string[] = [];
  /** Tasks published MAX_PUBLISH_ATTEMPTS times without a confirm: not waited for (they may still complete). */
  const givenUp = new Set<string>();
  let republished = 0;
  let stop: StopReason | undefined;
  /** Aborted when the run stops for any reason: ends the waits that are not conditions (pacing). */
  const stopped = new AbortController();
  const halt = (reason: StopReason) => {
    stop ??= reason;
    stopped.abort();
    conditions.check();
  };
  let downSince: number | undefined;
  let outages = 0;
  let downMs = 0;
  let blockedSince: number | undefined;
  let blockedMs = 0;
  let subscription: ResultSubscription | undefined;
  let closed = false;

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
        ...(downSince !== undefined ? { brokerDownMs: now - downSince } : {}),
        ...(blockedSince !== undefined ? { blockedMs: now - blockedSince } : {}),
      },
    });
  };
  const up = () => downSince === undefined;
  const givenUpOpen = () => {
    let open = 0;
    for (const id of givenUp) if (!ledger.isAccounted(id)) open++;
    return open;
  };
  const finished = () => outstanding === 0 && retry.length === 0 && ledger.unaccounted - givenUpOpen() === 0;
  const onResult = (delivery: { body: unknown }) => {
    ledger.recordResult(delivery.body, clock.now());
    progress();
    conditions.check();
  };
  /** The confirm callback of the task `id`; one closure per publish, no promise. */
  const onConfirm = (id: string) => (failure?: ConfirmFailure) => {
    outstanding--;
    const entry = unconfirmed.get(id);
    if (!failure) {
      ledger.recordConfirmed(id);
      unconfirmed.delete(id);
    } else {
      if (failure === 'cut-off') ledger.recordCutOff(id);
      // Published again (same id: the ledger de-duplicates) until the attempts run out.
      if (entry && entry.attempts < MAX_PUBLISH_ATTEMPTS) retry.push(id);
      else {
        unconfirmed.delete(id);
        givenUp.add(id);
      }
    }
    conditions.check();
  };
  const publish = (id: string): boolean => {
    const entry = unconfirmed.get(id) as Unconfirmed;
    entry.attempts++;
    outstanding++;
    try {
      return broker.publishTask(entry.queue, entry.task, plan.resultsQueue, onConfirm(id));
    } catch (error) {
      throw new QscaleError('BROKER_FAILED', `publishing to ${entry.queue} failed: ${(error as Error).message}`, { cause: error });
    }
  };
  const windowHasRoom = () => outstanding < plan.maxUnconfirmed;
  /** Publishes what must go again; false when the write buffer is full. */
  const publishRetries = (): boolean => {
    while (retry.length > 0 && windowHasRoom() && up()) {
      const id = retry.shift() as string;
      // Completed meanwhile (the cut-off publish had reached the queue): nothing to send again.
      if (ledger.isAccounted(id)) {
        unconfirmed.delete(id);
        continue;
      }
      republished++;
      if (!publish(id)) return false;
    }
    return true;
  };

  // The broker's state, as the adapter reports it. A loss starts one reconnect loop.
  const reconnect = async () => {
    let delay = RECONNECT_FIRST_DELAY_MS;
    while (!closed && downSince !== undefined) {
      const downFor = clock.now() - downSince;
      if (downFor >= plan.brokerTimeoutMs) {
        halt('broker-gone');
        return;
      }
      // The progress line keeps saying how long the broker has been down.
      progress();
      try {
        await broker.reconnect();
        // Not exclusive, so it may have survived; after a broker restart it is declared anew.
        await broker.createResultsQueue(plan.resultsQueue, resultsQueueExpiresMs);
        subscription = await broker.consumeResults(plan.resultsQueue, onResult);
        downMs += clock.now() - (downSince ?? clock.now());
        emit({ type: 'notice', message: `broker ${broker.endpoint} is back after ${formatSeconds(clock.now() - (downSince ?? clock.now()))}; resuming` });
        downSince = undefined;
        conditions.check();
        return;
      } catch {
        await clock.sleep(Math.min(delay, Math.max(1, plan.brokerTimeoutMs - downFor))).catch(() => {});
        delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
      }
    }
  };
  broker.onConnectionEvent((event) => {
    if (closed) return;
    const now = clock.now();
    if (event.type === 'lost') {
      if (blockedSince !== undefined) {
        blockedMs += now - blockedSince;
        blockedSince = undefined;
      }
      if (downSince !== undefined) return;
      downSince = now;
      outages++;
      subscription = undefined;
      emit({ type: 'warning', message: `broker ${broker.endpoint} unreachable (${event.reason}); reconnecting for up to ${formatSeconds(plan.brokerTimeoutMs)}` });
      progress(true);
      void reconnect();
    } else if (event.type === 'blocked') {
      blockedSince ??= now;
      emit({ type: 'warning', message: `broker ${broker.endpoint} blocks publishing (${event.reason}); results are still collected` });
    } else if (blockedSince !== undefined) {
      blockedMs += now - blockedSince;
      blockedSince = undefined;
      emit({ type: 'notice', message: `broker ${broker.endpoint} accepts publishing again` });
    }
    conditions.check();
  });

  throwIfAborted(signal);
  for (const queue of plan.queues) await broker.ensureTaskQueue(queue);
  if (plan.purge) {
    for (const queue of plan.queues) {
      const purged = (await broker.purgeQueue(queue)) + (await broker.purgeQueue(quarantineQueueOf(queue)));
      emit({ type: 'notice', message: `purged ${queue}: ${purged.toLocaleString('en-US')} messages removed` });
    }
  }
  const backlog = await readBacklog(broker, plan.queues);
  for (const queue of backlog) {
    if (queue.consumers === 0) {
      const message = `${queue.queue} has no consumer: its tasks will wait in the queue`;
      if (plan.requireConsumers) throw new QscaleError('BROKER_FAILED', message, { hint: 'start its workers (`qscale up`), or drop --require-consumers' });
      emit({ type: 'warning', message });
    }
    if (queue.messages > 0) emit({ type: 'warning', message: `${queue.queue} already holds ${queue.messages.toLocaleString('en-US')} messages; results will wait behind them` });
  }
  const backlogAhead = Math.max(0, ...backlog.map((queue) => queue.messages));
  const timeoutMs = plan.timeoutMs ?? defaultTimeoutMs(plan.tasksPerQueue, plan.workMs, backlogAhead);
  // The run's end: nobody waits for a result after it. Every task carries it (plus the grace in
  // which the run counts what is left and broadcasts the cancel), so workers drop late tasks.
  const runEnd = startedAt + publishAllowanceMs(plan.tasksPerQueue, plan.queues.length, plan.ratePerSecond) + timeoutMs;
  const deadline = runEnd + DEADLINE_GRACE_MS;
  const resultsQueueExpiresMs = runEnd - startedAt + RESULTS_QUEUE_SLACK_MS;
  await broker.createResultsQueue(plan.resultsQueue, resultsQueueExpiresMs);

  const onAbort = () => halt('interrupted');
  signal?.addEventListener('abort', onAbort, { once: true });
  const endTimer = new AbortController();
  clock.sleep(Math.max(0, runEnd - clock.now()), endTimer.signal).then(
    () => halt('timed-out'),
    () => {},
  );
  let held: HeldByBroker = new Map();
  let heldKnown = false;
  let unackedKnown = false;
  let outcome: RunOutcome = 'finished';
  try {
    subscription = await broker.consumeResults(plan.resultsQueue, onResult);
    emit({ type: 'phase', runId: plan.runId, phase: 'publishing' });
    const payload = plan.payloadSize > 0 ? 'x'.repeat(plan.payloadSize) : undefined;
    const canPublish = () => (windowHasRoom() && up()) || stop !== undefined;
    const publishStart = clock.now();
    publishing: for (let k = 0; k < plan.tasksPerQueue; k++) {
      const due = publishStart + scheduledOffsetMs(k, plan.ratePerSecond);
      const wait = due - clock.now();
      if (wait > 0 && stop === undefined) await clock.sleep(wait, stopped.signal).catch(() => {});
      for (let q = 0; q < plan.queues.length; q++) {
        if (!canPublish()) await conditions.until(canPublish);
        if (stop !== undefined) break publishing;
        if (!publishRetries()) await raceStop(broker.drained());
        if (!canPublish()) await conditions.until(canPublish);
        if (stop !== undefined) break publishing;
        const queue = plan.queues[q];
        const id = `${plan.runId}-${q}-${k}`;
        const sentAt = clock.now();
        const task: TaskMessage = { id, run: plan.runId, sentAt, workMs: plan.workMs, deadline };
        if (plan.failRate > 0) task.failRate = plan.failRate;
        // A crash task is a poison message: it kills every worker that starts it, on every delivery,
        // until the workers dead-letter it ("worker crashed"). A per-attempt chance would let its
        // redelivery succeed and never show the bound on deliveries.
        if (plan.crashRate > 0 && random() < plan.crashRate) task.crashRate = 1;
        if (payload) task.payload = payload;
        ledger.recordSent(queue, id, sentAt);
        unconfirmed.set(id, { queue, task, attempts: 0 });
        if (!publish(id)) await raceStop(broker.drained());
      }
      progress();
    }

    if (stop === undefined) {
      emit({ type: 'phase', runId: plan.runId, phase: 'collecting' });
      progress(true);
    }
    const canRepublish = () => retry.length > 0 && up() && windowHasRoom();
    while (stop === undefined && !finished()) {
      await conditions.until(() => finished() || stop !== undefined || canRepublish());
      if (stop === undefined && canRepublish() && !publishRetries()) await raceStop(broker.drained());
    }
    if (stop === undefined && plan.settleMs > 0) {
      emit({ type: 'phase', runId: plan.runId, phase: 'settling' });
      await clock.sleep(plan.settleMs, signal).catch(() => {});
      if (signal?.aborted) stop = 'interrupted';
    }
    if (stop === 'broker-gone') {
      throw new QscaleError('BROKER_UNREACHABLE', `the broker at ${broker.endpoint} has been unreachable for ${formatSeconds(plan.brokerTimeoutMs)}; giving up the run`, {
        hint: `${ledger.sent} sent, ${ledger.confirmed} confirmed, ${ledger.completed} completed so far; start the broker, or raise --broker-timeout`,
      });
    }
    outcome = stop === 'interrupted' ? 'interrupted' : stop === 'timed-out' && !finished() ? 'timed-out' : 'finished';

    // What the broker still holds decides pending (and lost): asked before the cancel, which makes
    // the workers drop the rest. Within the tasks' grace, so no worker has dropped one on its own.
    ({ held, heldKnown, unackedKnown } = await withTimeout(clock, countHeld(broker, plan.queues, clock), FINAL_CALL_TIMEOUT_MS, { held: new Map(), heldKnown: false, unackedKnown: false }));
    if (outcome !== 'finished') {
      await withTimeout(clock, broker.publishControl({ type: 'cancel-run', run: plan.runId, until: deadline }).then(() => true), FINAL_CALL_TIMEOUT_MS, false).then((sent) => {
        if (!sent) emit({ type: 'warning', message: `could not broadcast the cancel of ${plan.runId}: workers will drop its tasks at their deadline` });
      });
    }
    // A task acked while the broker was counted had its result on the way: let it arrive.
    if (ledger.unaccounted > 0 && up()) await clock.sleep(RESULTS_IN_FLIGHT_MS).catch(() => {});
  } finally {
    closed = true;
    endTimer.abort();
    stopped.abort();
    signal?.removeEventListener('abort', onAbort);
    if (up()) {
      await withTimeout(clock, (subscription?.cancel() ?? Promise.resolve()).catch(() => {}), FINAL_CALL_TIMEOUT_MS, undefined);
      await withTimeout(clock, broker.deleteResultsQueue(plan.resultsQueue).catch(() => {}), FINAL_CALL_TIMEOUT_MS, undefined);
    }
  }
  progress(true);
  emit({ type: 'phase', runId: plan.runId, phase: 'done' });

  const ledgerReport = ledger.report(held);
  const thresholds = evaluateThresholds(plan.thresholds, ledgerReport.overall);
  const settings: LoadTestSettings = {
    queues: plan.queues,
    tasksPerQueue: plan.tasksPerQueue,
    ratePerSecond: plan.ratePerSecond ?? null,
    payloadSize: plan.payloadSize,
    taskMs: typeof plan.workMs === 'number' ? String(plan.workMs) : `${plan.workMs.min}-${plan.workMs.max}`,
    failRate: plan.failRate,
    crashRate: plan.crashRate,
    timeoutMs,
    settleMs: plan.settleMs,
    maxUnconfirmed: plan.maxUnconfirmed,
    brokerTimeoutMs: plan.brokerTimeoutMs,
    purged: plan.purge,
  };
  const heldTotal = [...held.values()].reduce<number>((sum, count) => sum + (count ?? 0), 0);
  const interrupted = outcome === 'interrupted' ? (signal?.reason instanceof Interrupt ? signal.reason.signalName : 'SIGINT') : null;
  const noteworthy = backlog.filter((queue) => queue.messages > 0 || queue.consumers === 0);
  return {
    schema: LOAD_TEST_SCHEMA,
    runId: plan.runId,
    resultsQueue: plan.resultsQueue,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(clock.now()).toISOString(),
    settings,
    outcome,
    timedOut: outcome === 'timed-out',
    interrupted,
    backlog: noteworthy,
    duplicatesStatus: heldKnown && unackedKnown && heldTotal === 0 ? 'final' : 'provisional',
    broker: {
      outages,
      downMs,
      publishBlockedMs: blockedMs + (blockedSince !== undefined ? clock.now() - blockedSince : 0),
      republished,
      heldAtEnd: Object.fromEntries(plan.queues.map((queue) => [queue, held.get(queue) ?? null])),
      unackedKnown,
    },
    incomplete: outcome === 'timed-out' && ledgerReport.overall.pending > 0 ? whyIncomplete(backlog, plan, timeoutMs, backlogAhead) : null,
    ...ledgerReport,
    thresholds,
    passed: thresholds.every((threshold) => threshold.passed),
  };

  /** Waits for the write buffer, unless the run stops first. */
  function raceStop(drained: Promise<void>): Promise<void> {
    return Promise.race([drained, conditions.until(() => stop !== undefined || !up())]);
  }
}

/**
 * Each task queue's messages waiting before the run: its own and its quarantine queue's ready
 * counts, exact over AMQP. Unacked ones are left out: the management API reports them seconds
 * late, so a run started right after another one warned of a backlog that was already gone.
 */
async function readBacklog(broker: TaskBroker, queues: string[]): Promise<QueueBacklog[]> {
  const backlog: QueueBacklog[] = [];
  for (const queue of queues) {
    const main = await broker.queueInfo(queue);
    const quarantine = await broker.queueInfo(quarantineQueueOf(queue));
    const messages = [main, quarantine].reduce((sum, info) => sum + (info ? info.ready : 0), 0);
    backlog.push({ queue, messages, consumers: main?.consumers ?? 0 });
  }
  return backlog;
}

/**
 * What the broker holds of each task queue (and its quarantine queue): ready from AMQP, and unacked
 * from the workers themselves (every consumer answers `report-state` with what it holds), which is
 * live; when not every consumer answers, the management API's unacked count, when configured.
 */
async function countHeld(broker: TaskBroker, queues: string[], clock: Clock): Promise<{ held: HeldByBroker; heldKnown: boolean; unackedKnown: boolean }> {
  const counts = new Map<string, { ready: number; unacked?: number; consumers: number }>();
  for (const queue of queues) {
    const total = { ready: 0, unacked: 0 as number | undefined, consumers: 0 };
    for (const name of [queue, quarantineQueueOf(queue)]) {
      const info = await broker.queueInfo(name);
      if (!info) continue;
      total.ready += info.ready;
      total.unacked = info.unacked === undefined || total.unacked === undefined ? undefined : total.unacked + info.unacked;
      if (name === queue) total.consumers = info.consumers;
    }
    counts.set(queue, total);
  }
  const consumers = [...counts.values()].reduce((sum, count) => sum + count.consumers, 0);
  const asked = consumers > 0 ? await withTimeout(clock, broker.askWorkersHeld(queues, consumers, WORKER_REPORT_TIMEOUT_MS), WORKER_REPORT_TIMEOUT_MS + 1000, undefined) : undefined;
  const workersAnswered = consumers === 0 || (asked !== undefined && asked.replies >= consumers);
  const held: HeldByBroker = new Map();
  let unackedKnown = true;
  for (const [queue, count] of counts) {
    const unacked = workersAnswered ? (asked?.heldByQueue.get(queue) ?? 0) : count.unacked;
    if (unacked === undefined) unackedKnown = false;
    held.set(queue, count.ready + (unacked ?? 0));
  }
  return { held, heldKnown: true, unackedKnown };
}

function whyIncomplete(backlog: QueueBacklog[], plan: LoadTestPlan, timeoutMs: number, backlogAhead: number): IncompleteRun {
  const reason: IncompleteRun['reason'] = backlog.some((queue) => queue.consumers === 0) ? 'no-consumers' : backlogAhead > 0 ? 'backlog-ahead' : 'timeout-too-short';
  const suggested = Math.max(2 * timeoutMs, defaultTimeoutMs(plan.tasksPerQueue, plan.workMs, backlogAhead));
  return { reason, suggestedTimeoutMs: Math.ceil(suggested / 1000) * 1000 };
}

/** The promise's value, or `fallback` after `ms` (or when it rejects): calls made after the run ended must not hang it. */
async function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise.catch(() => fallback), clock.sleep(ms, timer.signal).then(() => fallback, () => fallback)]);
  } finally {
    timer.abort();
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}
