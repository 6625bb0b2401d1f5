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

/** The little of an AMQP confirm channel the consumer needs; amqp-channel.ts adapts amqplib to it. */
export interface TaskChannel {
  /** Starts manual-ack delivery; null tells that the broker cancelled the consumer. Resolves to the consumer tag. */
  consume(queue: string, onTask: (task: InboundTask | null) => void): Promise<string>;
  cancel(consumerTag: string): Promise<void>;
  ack(task: InboundTask): void;
  nack(task: InboundTask, requeue: boolean): void;
  /** Publishes a persistent message to a queue; resolves once the broker confirmed it. */
  publish(queue: string, body: Buffer, properties: PublishProperties): Promise<void>;
}

export interface ConsumerOptions {
  queue: string;
  workerId: string;
  concurrency: number;
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
 * Consumes one queue on one channel. For every task: do the work, publish its result (confirmed),
 * THEN settle the delivery: a crash in between gives a redelivery (a duplicate), never a loss.
 */
export class TaskConsumer {
  private consumerTag?: string;
  private draining = false;
  private readonly waiting: InboundTask[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDependencies,
  ) {}

  async start(): Promise<void> {
    this.consumerTag = await this.deps.channel.consume(this.options.queue, (task) => this.receive(task));
  }

  /** Tasks held: being worked on plus prefetched and waiting. */
  get inFlight(): number {
    return this.running.size + this.waiting.length;
  }

  /**
   * Stops taking tasks: cancels the consumer, returns the prefetched tasks not yet started to the
   * queue (unprocessed, so no duplicate), and waits for the started ones to be settled.
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
    while (this.running.size > 0) await Promise.all([...this.running]);
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
    while (!this.draining && this.running.size < this.options.concurrency && this.waiting.length > 0) {
      const task = this.waiting.shift() as InboundTask;
      const run: Promise<void> = this.process(task).finally(() => {
        this.running.delete(run);
        this.startWaiting();
      });
      this.running.add(run);
    }
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
    const { channel, now, log } = this.deps;
    const { queue, workerId, maxAttempts } = this.options;
    const startedAt = now();
    const attempt = attemptOf(task.headers);
    const message = parseTask(task.body);
    let facts: AttemptFacts;
    if (!message) {
      facts = { taskId: task.messageId ?? 'unknown', queue, workerId, startedAt, finishedAt: now(), attempt, redelivered: task.redelivered, outcome: 'dead-lettered', error: 'malformed task: not a JSON object with an id' };
    } else {
      let error: string | undefined;
      try {
        await performWork(planWork(message, this.options.defaults), this.deps.work);
      } catch (failure) {
        error = messageOf(failure);
      }
      const outcome = outcomeOf(error !== undefined, attempt, maxAttempts);
      facts = { taskId: message.id, run: message.run, queue, workerId, startedAt, finishedAt: now(), attempt, redelivered: task.redelivered, outcome, error };
    }

    try {
      if (facts.outcome === 'retrying') {
        await channel.publish(queue, task.body, {
          messageId: task.messageId,
          correlationId: task.correlationId,
          replyTo: task.replyTo,
          contentType: task.contentType,
          headers: { ...task.headers, [ATTEMPT_HEADER]: attempt + 1 },
        });
      }
      const result = buildResult(facts);
      await channel.publish(task.replyTo || this.options.resultsQueue, Buffer.from(JSON.stringify(result)), {
        messageId: `${facts.taskId}/${attempt}`,
        correlationId: facts.taskId,
        contentType: 'application/json',
      });
      // Past the limit RabbitMQ itself moves the task to <queue>.dlq (the queue's dead-letter arguments).
      if (facts.outcome === 'dead-lettered') channel.nack(task, false);
      else channel.ack(task);
    } catch (error) {
      this.deps.stats.abandoned += 1;
      log.warn('task left unsettled; the broker redelivers it', { taskId: facts.taskId, attempt, error: messageOf(error) });
      return;
    }
    this.deps.stats.count(facts.outcome);
    log.debug('task', {
      taskId: facts.taskId,
      run: facts.run,
      attempt,
      outcome: facts.outcome,
      redelivered: task.redelivered,
      ms: facts.finishedAt - facts.startedAt,
      error: facts.error,
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
