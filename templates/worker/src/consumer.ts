import type { Logger } from './log.js';
import { ATTEMPT_HEADER, type TaskOutcome } from './protocol.js';
import { attemptOf, buildResult, outcomeOf, parseTask, type AttemptFacts } from './task-outcome.js';
import { performWork, planWork, type WorkEnvironment, type WorkPlan } from './task-work.js';

/** A delivered task, as the consumer sees it. */
export interface InboundTask {
  body: Buffer;
  redelivered: boolean;
  messageId?: string;
  replyTo?: string;
  correlationId?: string;
  contentType?: string;
  headers: Record<string, unknown>;
}

export interface PublishProperties {
  messageId?: string;
  correlationId?: string;
  replyTo?: string;
  contentType?: string;
  headers?: Record<string, unknown>;
}

/** Called once per published message: null when the broker confirmed it, else why it did not. */
export type Confirmed = (error: Error | null) => void;

/** The little of an AMQP confirm channel the consumer needs; amqp-channel.ts adapts amqplib to it. */
export interface TaskChannel {
  /** Starts manual-ack delivery; null tells that the broker cancelled the consumer. Resolves to the consumer tag. */
  consume(queue: string, onTask: (task: InboundTask | null) => void): Promise<string>;
  cancel(consumerTag: string): Promise<void>;
  ack(task: InboundTask): void;
  nack(task: InboundTask, requeue: boolean): void;
  /**
   * Publishes a persistent message to a queue; `confirmed` is called once the broker confirmed or
   * refused it (or the channel closed first). Returns false when the channel's write buffer is
   * full: publish nothing more until drained() resolves.
   */
  publish(queue: string, body: Buffer, properties: PublishProperties, confirmed: Confirmed): boolean;
  /** Resolves once the write buffer has room again (or the channel closed). */
  drained(): Promise<void>;
}

export interface ConsumerOptions {
  queue: string;
  workerId: string;
  concurrency: number;
  /**
   * Tasks whose messages may await the broker's confirm at once; no new task starts while that
   * many would. Unconfirmed tasks are unacked, so the prefetch bounds them too.
   */
  maxUnconfirmed: number;
  maxAttempts: number;
  /** Where results go when a task has no replyTo. */
  resultsQueue: string;
  defaults: WorkPlan;
}

export interface ConsumerDependencies {
  channel: TaskChannel;
  work: WorkEnvironment;
  now(): number;
  log: Logger;
  stats: WorkerStats;
  /** The broker cancelled the consumer (its queue was deleted, say). */
  onCancelled?(): void;
}

/** Counters over the worker's life, across reconnections. */
export class WorkerStats {
  completed = 0;
  retried = 0;
  deadLettered = 0;
  /** Tasks whose result or ack could not be sent (the channel died); the broker redelivers them. */
  abandoned = 0;

  count(outcome: TaskOutcome): void {
    if (outcome === 'completed') this.completed += 1;
    else if (outcome === 'retrying') this.retried += 1;
    else this.deadLettered += 1;
  }

  get processed(): number {
    return this.completed + this.retried + this.deadLettered;
  }

  get failed(): number {
    return this.retried + this.deadLettered;
  }
}

/**
 * Consumes one queue on one channel. For every task: do the work, publish its result, and free the
 * slot for the next task at once; settle the delivery only when the broker confirmed the result, so
 * a crash in between gives a redelivery (a duplicate), never a loss. A refused result returns the
 * task to the queue.
 */
export class TaskConsumer {
  private consumerTag?: string;
  private draining = false;
  private readonly waiting: InboundTask[] = [];
  /** Tasks in the handler. */
  private working = 0;
  /** Tasks whose messages were published but not all confirmed yet. */
  private unconfirmed = 0;
  /** Set while the channel's write buffer is full; publishing waits for it. */
  private writable?: Promise<void>;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDependencies,
  ) {}

  async start(): Promise<void> {
    this.consumerTag = await this.deps.channel.consume(this.options.queue, (task) => this.receive(task));
  }

  /** Tasks held, none acked yet: prefetched and waiting, being worked on, awaiting their confirm. */
  get inFlight(): number {
    return this.waiting.length + this.working + this.unconfirmed;
  }

  /**
   * Stops taking tasks: cancels the consumer, returns the prefetched tasks not yet started to the
   * queue (unprocessed, so no duplicate), and waits until the started ones are worked, confirmed
   * and settled.
   */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.consumerTag !== undefined) {
      try {
        await this.deps.channel.cancel(this.consumerTag);
      } catch (error) {
        this.deps.log.warn('cancelling the consumer failed', { error: messageOf(error) });
      }
    }
    for (const task of this.waiting.splice(0)) this.release(task);
    if (this.working + this.unconfirmed > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private receive(task: InboundTask | null): void {
    if (task === null) {
      this.deps.log.warn('the broker cancelled the consumer', { queue: this.options.queue });
      this.deps.onCancelled?.();
      return;
    }
    if (this.draining) {
      this.release(task);
      return;
    }
    this.waiting.push(task);
    this.startWaiting();
  }

  private startWaiting(): void {
    const { concurrency, maxUnconfirmed } = this.options;
    // working + unconfirmed < maxUnconfirmed: every task started can publish without passing the bound.
    while (this.waiting.length > 0 && this.working < concurrency && this.working + this.unconfirmed < maxUnconfirmed) {
      const task = this.waiting.shift() as InboundTask;
      this.working += 1;
      void this.process(task);
    }
  }

  /** Called whenever a task leaves the handler or is settled. */
  private progressed(): void {
    this.startWaiting();
    if (this.working + this.unconfirmed === 0 && this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private release(task: InboundTask): void {
    try {
      this.deps.channel.nack(task, true);
    } catch (error) {
      this.deps.log.warn('returning a task to the queue failed; the broker redelivers it', { taskId: task.messageId, error: messageOf(error) });
    }
  }

  /** Never rejects: a task that cannot be settled is left to the broker to redeliver. */
  private async process(task: InboundTask): Promise<void> {
    try {
      const facts = await this.work(task);
      if (this.writable) await this.writable;
      this.publish(task, facts);
    } catch (error) {
      this.deps.stats.abandoned += 1;
      this.deps.log.error('task left unsettled after an unexpected error; the broker redelivers it when the channel closes', { taskId: task.messageId, error: messageOf(error) });
    } finally {
      this.working -= 1;
      this.progressed();
    }
  }

  private async work(task: InboundTask): Promise<AttemptFacts> {
    const { now } = this.deps;
    const { queue, workerId, maxAttempts } = this.options;
    const startedAt = now();
    const attempt = attemptOf(task.headers);
    const message = parseTask(task.body);
    if (!message) {
      return { taskId: task.messageId ?? 'unknown', queue, workerId, startedAt, finishedAt: now(), attempt, redelivered: task.redelivered, outcome: 'dead-lettered', error: 'malformed task: not a JSON object with an id' };
    }
    let error: string | undefined;
    try {
      await performWork(planWork(message, this.options.defaults), this.deps.work);
    } catch (failure) {
      error = messageOf(failure);
    }
    const outcome = outcomeOf(error !== undefined, attempt, maxAttempts);
    return { taskId: message.id, run: message.run, queue, workerId, startedAt, finishedAt: now(), attempt, redelivered: task.redelivered, outcome, error };
  }

  /** Publishes the retry copy (if any) and the result; the task is settled when both are confirmed. */
  private publish(task: InboundTask, facts: AttemptFacts): void {
    const messages: Array<[queue: string, body: Buffer, properties: PublishProperties]> = [];
    if (facts.outcome === 'retrying') {
      messages.push([
        this.options.queue,
        task.body,
        { messageId: task.messageId, correlationId: task.correlationId, replyTo: task.replyTo, contentType: task.contentType, headers: { ...task.headers, [ATTEMPT_HEADER]: facts.attempt + 1 } },
      ]);
    }
    messages.push([
      task.replyTo || this.options.resultsQueue,
      Buffer.from(JSON.stringify(buildResult(facts))),
      { messageId: `${facts.taskId}/${facts.attempt}`, correlationId: facts.taskId, contentType: 'application/json' },
    ]);

    this.unconfirmed += 1;
    let awaiting = messages.length;
    let failure: Error | null = null;
    const confirmed: Confirmed = (error) => {
      failure ??= error;
      if (--awaiting > 0) return;
      this.unconfirmed -= 1;
      this.settle(task, facts, failure);
      this.progressed();
    };
    for (let index = 0; index < messages.length; index++) {
      const [queue, body, properties] = messages[index];
      try {
        if (!this.deps.channel.publish(queue, body, properties, confirmed)) this.writable ??= this.deps.channel.drained().then(() => (this.writable = undefined));
      } catch (error) {
        // Not handed over (the channel is closed, say): neither it nor the rest will be confirmed.
        for (let rest = index; rest < messages.length; rest++) confirmed(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
  }

  private settle(task: InboundTask, facts: AttemptFacts, failure: Error | null): void {
    const { channel, log, stats } = this.deps;
    if (failure) {
      stats.abandoned += 1;
      try {
        channel.nack(task, true);
        log.warn('the broker did not confirm a result; the task goes back to the queue', { taskId: facts.taskId, attempt: facts.attempt, error: failure.message });
      } catch (error) {
        log.warn('task left unsettled; the broker redelivers it', { taskId: facts.taskId, attempt: facts.attempt, error: messageOf(error) });
      }
      return;
    }
    try {
      // Past the limit RabbitMQ itself moves the task to <queue>.dlq (the queue's dead-letter arguments).
      if (facts.outcome === 'dead-lettered') channel.nack(task, false);
      else channel.ack(task);
    } catch (error) {
      stats.abandoned += 1;
      log.warn('task left unsettled; the broker redelivers it', { taskId: facts.taskId, attempt: facts.attempt, error: messageOf(error) });
      return;
    }
    stats.count(facts.outcome);
    if (log.enabled('debug')) {
      log.debug('task', { taskId: facts.taskId, run: facts.run, attempt: facts.attempt, outcome: facts.outcome, redelivered: facts.redelivered, ms: facts.finishedAt - facts.startedAt, error: facts.error });
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
