import type { ControlMessage, TaskMessage } from '../../../templates/worker/src/protocol.js';

/**
 * What the load tester needs from the broker. The RabbitMQ adapter implements it with amqplib;
 * unit tests use an in-memory fake. The adapter makes no decisions: pacing, the bound on
 * unconfirmed messages, waiting for 'drain', reconnecting and republishing are the core's.
 */

/**
 * Why a publish was not confirmed: `refused` — the broker answered with a nack; `cut-off` — the
 * connection or channel closed before any answer (the message may or may not have reached the queue).
 */
export type ConfirmFailure = 'refused' | 'cut-off';

/**
 * Called exactly once per published task: without an argument when the broker confirms it, with
 * the failure otherwise. The adapter guarantees the "exactly once" even when the connection dies
 * (amqplib callbacks that never fire are a known hazard). A callback, not a promise: the load
 * tester publishes thousands a second and a promise chain per message costs more than the publish.
 */
export type OnConfirm = (failure?: ConfirmFailure) => void;

export interface QueueInfo {
  /** Messages waiting to be delivered. */
  ready: number;
  /** Delivered, not yet acknowledged; known only when the management API is configured. */
  unacked?: number;
  consumers: number;
}

/** One message from the results queue, not yet trusted: the core validates the body. */
export interface ResultDelivery {
  body: unknown;
}

export interface ResultSubscription {
  cancel(): Promise<void>;
}

/**
 * What happens to the broker connections: `lost` — a connection closed (every outstanding confirm
 * has already been failed as `cut-off`); nothing works until `reconnect()` succeeds. `blocked` /
 * `unblocked` — the broker stopped reading from the publishing connection (memory or disk alarm).
 */
export type BrokerConnectionEvent = { type: 'lost'; reason: string } | { type: 'blocked'; reason: string } | { type: 'unblocked' };

export interface TaskBroker {
  /** The broker URL with its password masked, for messages. */
  readonly endpoint: string;
  /** One listener; 'lost' is reported once per connection, whichever of the two closes first. */
  onConnectionEvent(listener: (event: BrokerConnectionEvent) => void): void;
  /** Opens fresh connections after a 'lost'; rejects while the broker does not answer. */
  reconnect(): Promise<void>;
  /** Declares a worker's task queue (durable, with `taskQueueArguments`); an existing one is kept as is. */
  ensureTaskQueue(queue: string): Promise<void>;
  /**
   * Declares the run's own results queue: it outlives a connection (so results survive a broker
   * restart and a reconnect) and the broker deletes it `expiresMs` after its last use.
   */
  createResultsQueue(queue: string, expiresMs: number): Promise<void>;
  /** Deletes the run's results queue; an absent one is a success. Never called for task queues. */
  deleteResultsQueue(queue: string): Promise<void>;
  /**
   * Publishes one task persistently with messageId = task.id and replyTo, under publisher confirms.
   * Returns false when the client's write buffer is full: wait for `drained()` before publishing again.
   */
  publishTask(queue: string, task: TaskMessage, replyTo: string, onConfirm: OnConfirm): boolean;
  /** Resolves when the write buffer has room again, or the connection closed. */
  drained(): Promise<void>;
  consumeResults(queue: string, onResult: (delivery: ResultDelivery) => void): Promise<ResultSubscription>;
  /** Counts and consumers; undefined when the queue does not exist. */
  queueInfo(queue: string): Promise<QueueInfo | undefined>;
  /** Empties a task queue; returns how many messages it removed (0 for an absent queue). */
  purgeQueue(queue: string): Promise<number>;
  /**
   * Asks every worker (`report-state` on the control exchange) how many tasks it holds unacked, and
   * sums them per task queue: live, where the management API's unacked count lags by seconds.
   * Every worker on the broker answers; only those of `queues` count. Waits for `expectedReplies`
   * of them or `timeoutMs`, whichever comes first.
   */
  askWorkersHeld(queues: string[], expectedReplies: number, timeoutMs: number): Promise<{ replies: number; heldByQueue: Map<string, number> }>;
  /** Broadcasts a message to every worker on the control exchange (CONTROL_EXCHANGE). */
  publishControl(message: ControlMessage): Promise<void>;
  close(): Promise<void>;
}
