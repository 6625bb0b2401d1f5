import type { TaskMessage } from '../../../templates/worker/src/protocol.js';

/**
 * What the load tester needs from the broker. The RabbitMQ adapter implements it with amqplib;
 * unit tests use an in-memory fake. The adapter makes no decisions: pacing, the bound on
 * unconfirmed messages and waiting for 'drain' are the core's.
 */

/**
 * Called once per published task: without an argument when the broker confirms it, with an error
 * when the broker refuses it or the channel closes first. A callback, not a promise: the load
 * tester publishes thousands a second and a promise chain per message costs more than the publish.
 */
export type OnConfirm = (error?: Error) => void;

export interface QueueInfo {
  /** Messages waiting to be delivered. */
  ready: number;
  consumers: number;
}

/** One message from the results queue, not yet trusted: the core validates the body. */
export interface ResultDelivery {
  body: unknown;
}

export interface ResultSubscription {
  cancel(): Promise<void>;
}

export interface TaskBroker {
  /** The broker URL with its password masked, for messages. */
  readonly endpoint: string;
  /** Declares a worker's task queue (durable, with `taskQueueArguments`); an existing one is kept as is. */
  ensureTaskQueue(queue: string): Promise<void>;
  /** Declares the run's own results queue; it disappears with the connection if the run dies. */
  createResultsQueue(queue: string): Promise<void>;
  /** Deletes the run's results queue; an absent one is a success. Never called for task queues. */
  deleteResultsQueue(queue: string): Promise<void>;
  /**
   * Publishes one task persistently with messageId = task.id and replyTo, under publisher confirms.
   * Returns false when the client's write buffer is full: wait for `drained()` before publishing again.
   */
  publishTask(queue: string, task: TaskMessage, replyTo: string, onConfirm: OnConfirm): boolean;
  /** Resolves when the write buffer has room again. */
  drained(): Promise<void>;
  consumeResults(queue: string, onResult: (delivery: ResultDelivery) => void): Promise<ResultSubscription>;
  /** Ready count and consumers; undefined when the queue does not exist. */
  queueInfo(queue: string): Promise<QueueInfo | undefined>;
  close(): Promise<void>;
}
