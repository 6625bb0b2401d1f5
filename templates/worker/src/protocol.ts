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

/** Header carrying the attempt number of a retried task. */
export const ATTEMPT_HEADER = 'x-qscale-attempt';

export const DEFAULT_MAX_ATTEMPTS = 3;

export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dlq`;
}

/**
 * Arguments every declarer of a task queue must use (RabbitMQ refuses a redeclare with other
 * arguments): failures past the retry limit are dead-lettered to `<queue>.dlq`.
 */
export function taskQueueArguments(queue: string): Record<string, unknown> {
  return { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadLetterQueueOf(queue) };
}
