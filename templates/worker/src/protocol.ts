/**
 * The wire contract between the load tester (or any producer) and the workers. Shared by both
 * sides; no dependencies, so the worker bundle and the qscale CLI import the same file.
 */

/** A task, published as JSON to the worker's queue with AMQP properties messageId = id and replyTo. */
export interface TaskMessage {
  /** Unique per task; also the AMQP messageId. */
  id: string;
  /** The load-test run that sent it, echoed in the result. */
  run?: string;
  /** Milliseconds since the epoch on the sender's clock. */
  sentAt: number;
  /** Simulated work: a fixed duration, or uniform between min and max, in ms. Default: the worker's env. */
  workMs?: number | { min: number; max: number };
  /** Burn CPU for the duration instead of sleeping. */
  cpu?: boolean;
  /** Probability (0..1) that this task throws. */
  failRate?: number;
  /** Padding, to test payload sizes. */
  payload?: string;
  /** Probability (0..1) that this task kills its worker process abruptly (SIGKILL), as an OOM would. */
  crashRate?: number;
  /**
   * Milliseconds since the epoch after which nobody waits for this task's result: a worker that
   * receives it later acks and drops it (counted as dropped, never a failure, never dead-lettered).
   */
  deadline?: number;
}

export type TaskOutcome = 'completed' | 'retrying' | 'dead-lettered';

/** What a worker publishes (to the task's replyTo queue) for every attempt it finishes. */
export interface TaskResult {
  taskId: string;
  run?: string;
  queue: string;
  /** The container that did the work (its short container id, else its hostname). */
  workerId: string;
  /** Worker clock, ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** RabbitMQ's redelivered flag: an earlier delivery of this task was not acknowledged. */
  redelivered: boolean;
  outcome: TaskOutcome;
  error?: string;
}

/**
 * The control exchange (fanout, durable). Every worker binds an exclusive, auto-delete queue of its
 * own to it and obeys the ControlMessages published there; the load tester and the scaler publish.
 */
export const CONTROL_EXCHANGE = 'qscale.control';

/**
 * - `cancel-run`: the load-test run `run` ended (finished, timed out or interrupted): ack and drop
 *   its tasks at once, without working them, until `until` (ms since the epoch) — the run's tasks
 *   all carry a deadline no later than that, so the worker may forget the run afterwards.
 * - `report-state`: publish a WorkerStateReport to `replyTo` (a queue), echoing `requestId`.
 */
export type ControlMessage =
  | { type: 'cancel-run'; run: string; until: number }
  | { type: 'report-state'; requestId: string; replyTo: string };

/** A worker's own account of what it holds, sent in answer to `report-state`. */
export interface WorkerStateReport {
  type: 'worker-state';
  requestId: string;
  /** The worker's id: its short (12 hex) container id, as in TaskResult.workerId. */
  workerId: string;
  queue: string;
  /** Tasks being worked on right now (started, not finished). 0 means idle. */
  working: number;
  /** Every task it holds unacked: prefetched and waiting, working, awaiting a confirm. */
  held: number;
  /** True once it received SIGTERM and drains. */
  draining: boolean;
  /** Worker clock, ms since the epoch. */
  at: number;
}

/**
 * Header counting the deliveries of a task that ended with no outcome: the worker holding it died
 * (crash, SIGKILL, lost connection). With the attempt header it bounds a task's deliveries.
 */
export const ABANDONED_HEADER = 'x-qscale-abandoned';

/**
 * Header counting the deliveries of a task cut short by its worker's stop (a drain that ran out of
 * time): the worker handed it back itself. Such deliveries are not crashes, so they do not count
 * towards the delivery bound; a result of a later delivery says `redelivered`.
 */
export const INTERRUPTED_HEADER = 'x-qscale-interrupted';

/** Header on a message a worker dead-lettered itself: why, in words (e.g. "worker crashed"). */
export const DEAD_LETTER_REASON_HEADER = 'x-qscale-dead-letter-reason';

/** Header carrying the attempt number of a retried task. */
export const ATTEMPT_HEADER = 'x-qscale-attempt';

export const DEFAULT_MAX_ATTEMPTS = 3;

export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dlq`;
}

/**
 * Where a worker moves a task whose earlier delivery ended with no outcome (its worker died): such
 * suspects are worked one at a time, so a task that crashes its worker takes no innocent task down
 * with it again. The load tester and `status` count it with the task queue.
 */
export function quarantineQueueOf(queue: string): string {
  return `${queue}.quarantine`;
}

/**
 * Environment variable qscale sets on every worker container it creates: the stop timeout (ms) the
 * engine will give it before SIGKILL. The worker's drain deadline is derived from it.
 */
export const STOP_TIMEOUT_ENV = 'QSCALE_STOP_TIMEOUT_MS';

/**
 * Arguments every declarer of a task queue must use (RabbitMQ refuses a redeclare with other
 * arguments): failures past the retry limit are dead-lettered to `<queue>.dlq`.
 */
export function taskQueueArguments(queue: string, queueType: QueueType = 'classic'): Record<string, unknown> {
  const deadLettering = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadLetterQueueOf(queue) };
  if (queueType === 'classic') return deadLettering;
  // Workers bound deliveries themselves (ABANDONED_HEADER, ATTEMPT_HEADER); the broker's limit is only a
  // backstop, generous because quorum queues before RabbitMQ 4 also count a requeue as a delivery.
  return { ...deadLettering, 'x-queue-type': 'quorum', 'x-delivery-limit': QUORUM_DELIVERY_LIMIT };
}

/** The RabbitMQ queue type of a task queue (and its quarantine queue); the worker's QUEUE_TYPE. */
export type QueueType = 'classic' | 'quorum';

/** The backstop `x-delivery-limit` of a quorum task queue. */
export const QUORUM_DELIVERY_LIMIT = 20;
