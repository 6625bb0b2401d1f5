import type { RunCancellations } from './control.js';
import type { Logger } from './log.js';
import { ABANDONED_HEADER, ATTEMPT_HEADER, DEAD_LETTER_REASON_HEADER, INTERRUPTED_HEADER, deadLetterQueueOf, quarantineQueueOf, type TaskMessage, type TaskOutcome } from './protocol.js';
import { abandonedOf, attemptOf, buildResult, interruptedOf, outcomeOf, parseTaskBody, type AttemptFacts } from './task-outcome.js';
import { performWork, planWork, SimulatedCrash, type WorkEnvironment, type WorkPlan } from './task-work.js';

/** A delivered task, as the consumer sees it. */
export interface InboundTask {
  body: Buffer;
  redelivered: boolean;
  messageId?: string;
  replyTo?: string;
  correlationId?: string;
  contentType?: string;
  headers: Record<string, unknown>;
  /** The rest of its AMQP properties, kept so that a copy of it is identical. */
  otherProperties?: OtherProperties;
}

export interface OtherProperties {
  contentEncoding?: string;
  type?: string;
  appId?: string;
  timestamp?: number;
  priority?: number;
  expiration?: string;
}

export interface PublishProperties extends OtherProperties {
  messageId?: string;
  correlationId?: string;
  replyTo?: string;
  contentType?: string;
  headers?: Record<string, unknown>;
}

/** A publish the broker accepted but could route to no queue (basic.return): its queue does not exist. */
export class UnroutableError extends Error {
  override name = 'UnroutableError';
}

/** Called once per published message: null when the broker confirmed it, else why it did not (an UnroutableError when it was returned). */
export type Confirmed = (error: Error | null) => void;

/** The little of an AMQP confirm channel the consumer needs; amqp-channel.ts adapts amqplib to it. */
export interface TaskChannel {
  /** Starts manual-ack delivery; null tells that the broker cancelled the consumer. Resolves to the consumer tag. */
  consume(queue: string, onTask: (task: InboundTask | null) => void): Promise<string>;
  cancel(consumerTag: string): Promise<void>;
  /** Both throw, sending nothing, when the channel is closed or the task was settled already (or came on another channel). */
  ack(task: InboundTask): void;
  nack(task: InboundTask, requeue: boolean): void;
  /**
   * Publishes a persistent, mandatory message to a queue; `confirmed` is called once the broker
   * confirmed, returned or refused it (or the channel closed first). Returns false when the channel's
   * write buffer is full: publish nothing more until drained() resolves.
   */
  publish(queue: string, body: Buffer, properties: PublishProperties, confirmed: Confirmed): boolean;
  /** Resolves once the write buffer has room again (or the channel closed). */
  drained(): Promise<void>;
}

export interface ConsumerOptions {
  /** The task queue. */
  queue: string;
  /** Consume the task queue's quarantine queue (suspects, worked one at a time) instead of the queue itself. */
  quarantine?: boolean;
  workerId: string;
  concurrency: number;
  /**
   * Tasks whose messages may await the broker's confirm at once; no new task starts while that
   * many would. Unconfirmed tasks are unacked, so the prefetch bounds them too.
   */
  maxUnconfirmed: number;
  /** Bounds a task's deliveries: attempts that threw plus deliveries abandoned by a dead worker. */
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
  cancellations: RunCancellations;
  unroutable: UnroutableResults;
  /** The broker cancelled the consumer (its queue was deleted, say). */
  onCancelled?(): void;
  /** A copy of a task was returned: its queue (quarantine, dead-letter) is gone; resolves once the worker declared its queues again. */
  onQueueMissing?(queue: string): Promise<void>;
}

/** Counters over the worker's life, across reconnections. */
export class WorkerStats {
  completed = 0;
  retried = 0;
  deadLettered = 0;
  /** Tasks whose result or ack could not be sent (the channel died); the broker redelivers them. */
  abandoned = 0;
  /** Tasks acked without work: their run was cancelled or their deadline passed. Never failures. */
  dropped = 0;
  /** Redelivered tasks moved to the quarantine queue (their earlier delivery died with its worker). */
  quarantined = 0;
  /** Prefetched tasks handed back unstarted on drain (republished, so not flagged redelivered). */
  handedBack = 0;
  /** Started tasks handed back unfinished when the drain ran out of time. */
  interrupted = 0;
  /** Results whose queue did not exist (returned by the broker). */
  unroutable = 0;

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

/** Counts results nobody can receive, and says so at most once per interval (a gone reply queue returns every result). */
export class UnroutableResults {
  private lastLoggedAt = -Infinity;
  private sinceLogged = 0;

  constructor(
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly intervalMs = 10_000,
  ) {}

  record(queue: string, taskId: string): void {
    this.stats.unroutable += 1;
    this.sinceLogged += 1;
    const at = this.now();
    if (at - this.lastLoggedAt < this.intervalMs) return;
    this.log.warn('results dropped: their queue does not exist (the producer is gone?)', { resultsQueue: queue, taskId, count: this.sinceLogged, unroutableTotal: this.stats.unroutable });
    this.lastLoggedAt = at;
    this.sinceLogged = 0;
  }
}

/** A delivery with what its body says: the task, or why it is malformed. */
interface Held {
  task: InboundTask;
  message?: TaskMessage;
  plan?: WorkPlan;
  malformed?: string;
  /** Handed back unfinished (the drain ran out of time): its work's end publishes nothing. */
  handedOff?: boolean;
}

interface Outgoing {
  queue: string;
  body: Buffer;
  properties: PublishProperties;
  /** A result may be unroutable (its queue gone) without harm; a copy of the task may not. */
  kind: 'copy' | 'result';
  taskId: string;
}

export const WORKER_CRASHED = 'worker crashed';

/**
 * Consumes one queue on one channel. For every task: do the work, publish its result, and free the
 * slot for the next task at once; settle the delivery only when the broker confirmed the result, so
 * a crash in between gives a redelivery (a duplicate), never a loss. A refused result returns the
 * task to the queue.
 *
 * A delivery flagged redelivered may have killed its earlier worker: it is not worked here but
 * moved to the quarantine queue (ABANDONED_HEADER + 1), where every worker takes suspects one at a
 * time; past maxAttempts deliveries it is dead-lettered as "worker crashed". Tasks of a cancelled
 * run or past their deadline are acked and dropped without work.
 */
export class TaskConsumer {
  private consumerTag?: string;
  private draining = false;
  private readonly waiting: Held[] = [];
  /** Tasks in the handler. */
  private working = 0;
  private readonly started = new Set<Held>();
  /** Tasks whose messages were published but not all confirmed yet. */
  private unconfirmed = 0;
  /** Set while the channel's write buffer is full; publishing waits for it. */
  private writable?: Promise<void>;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDependencies,
  ) {}

  /** The queue this consumer takes tasks from. */
  get source(): string {
    return this.options.quarantine ? quarantineQueueOf(this.options.queue) : this.options.queue;
  }

  async start(): Promise<void> {
    this.consumerTag = await this.deps.channel.consume(this.source, (task) => this.receive(task));
  }

  /** Tasks held, none acked yet: prefetched and waiting, being worked on, awaiting their confirm. */
  get inFlight(): number {
    return this.waiting.length + this.working + this.unconfirmed;
  }

  /** Tasks started and not finished. */
  get workingNow(): number {
    return this.working;
  }

  /**
   * Stops taking tasks: cancels the consumer, hands the prefetched tasks not yet started back to the
   * queue as identical copies (so they come back unflagged: no redelivery, no duplicate), and waits
   * until the started ones are worked, confirmed and settled.
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
    for (const held of this.waiting.splice(0)) this.handBack(held.task);
    if (this.working + this.unconfirmed > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * The drain ran out of time: hands every started, unfinished task back to its queue as a copy with
   * INTERRUPTED_HEADER + 1, acked once confirmed, so it is neither lost nor counted as abandoned by a
   * crash. Resolves when those are settled (or could not be).
   */
  handBackUnfinished(): Promise<void> {
    const unfinished = [...this.started].filter((held) => !held.handedOff);
    if (unfinished.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = unfinished.length;
      const settled = () => {
        if (--left === 0) resolve();
      };
      for (const held of unfinished) {
        held.handedOff = true;
        const copy = this.copyOf(held.task, this.source, { [INTERRUPTED_HEADER]: interruptedOf(held.task.headers) + 1 });
        this.publishThenSettle(held.task, [copy], () => (this.deps.stats.interrupted += 1), settled, false);
      }
    });
  }

  /** Drops the held, not yet started tasks of a run just cancelled. */
  dropRun(run: string): void {
    const keep: Held[] = [];
    for (const held of this.waiting.splice(0)) {
      if (held.message?.run === run) this.drop(held, 'run cancelled');
      else keep.push(held);
    }
    this.waiting.push(...keep);
  }

  private receive(task: InboundTask | null): void {
    if (task === null) {
      this.deps.log.warn('the broker cancelled the consumer', { queue: this.source });
      this.deps.onCancelled?.();
      return;
    }
    const held = this.inspect(task);
    if (this.draining) {
      // A redelivered task is still counted as abandoned: handing it back unflagged would forget it.
      if (task.redelivered && !held.malformed) this.checkpoint(held);
      else this.handBack(task);
      return;
    }
    const dropReason = this.dropReasonOf(held);
    if (dropReason) this.drop(held, dropReason);
    else if (task.redelivered && !held.malformed) this.checkpoint(held);
    else {
      this.waiting.push(held);
      this.startWaiting();
    }
  }

  private inspect(task: InboundTask): Held {
    const parsed = parseTaskBody(task.body);
    if (typeof parsed === 'string') return { task, malformed: parsed };
    const plan = planWork(parsed, this.options.defaults);
    if (typeof plan === 'string') return { task, message: parsed, malformed: `malformed task: ${plan}` };
    return { task, message: parsed, plan };
  }

  private dropReasonOf(held: Held): string | undefined {
    const { message } = held;
    if (!message) return undefined;
    const now = this.deps.now();
    if (this.deps.cancellations.isCancelled(message.run, now)) return 'run cancelled';
    if (typeof message.deadline === 'number' && message.deadline <= now) return 'deadline passed';
    return undefined;
  }

  private drop(held: Held, reason: string): void {
    const { channel, log, stats } = this.deps;
    try {
      channel.ack(held.task);
    } catch (error) {
      log.warn('could not ack a dropped task; the broker redelivers it', { taskId: held.task.messageId, error: messageOf(error) });
      return;
    }
    stats.dropped += 1;
    if (log.enabled('debug')) log.debug('task dropped', { taskId: held.message?.id, run: held.message?.run, reason });
  }

  private startWaiting(): void {
    const { concurrency, maxUnconfirmed } = this.options;
    // working + unconfirmed < maxUnconfirmed: every task started can publish without passing the bound.
    while (this.waiting.length > 0 && this.working < concurrency && this.working + this.unconfirmed < maxUnconfirmed) {
      const held = this.waiting.shift() as Held;
      const dropReason = this.dropReasonOf(held);
      if (dropReason) {
        this.drop(held, dropReason);
        continue;
      }
      this.working += 1;
      void this.process(held);
    }
  }

  /** Called whenever a task leaves the handler or is settled. */
  private progressed(): void {
    this.startWaiting();
    if (this.working + this.unconfirmed === 0 && this.idleWaiters.length > 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Never rejects: a task that cannot be settled is left to the broker to redeliver. */
  private async process(held: Held): Promise<void> {
    this.started.add(held);
    try {
      const facts = await this.work(held);
      if (this.writable) await this.writable;
      if (!held.handedOff) this.publishOutcome(held, facts);
    } catch (error) {
      this.deps.stats.abandoned += 1;
      this.deps.log.error('task left unsettled after an unexpected error; the broker redelivers it when the channel closes', { taskId: held.task.messageId, error: messageOf(error) });
    } finally {
      this.started.delete(held);
      this.working -= 1;
      this.progressed();
    }
  }

  private async work(held: Held): Promise<AttemptFacts> {
    const { now } = this.deps;
    const { queue, workerId, maxAttempts } = this.options;
    const { task, message, plan } = held;
    const startedAt = now();
    const attempt = attemptOf(task.headers);
    const redelivered = task.redelivered || abandonedOf(task.headers) > 0 || interruptedOf(task.headers) > 0;
    if (!message || !plan) {
      return { taskId: message?.id ?? task.messageId ?? 'unknown', run: message?.run, queue, workerId, startedAt, finishedAt: now(), attempt, redelivered, outcome: 'dead-lettered', error: held.malformed };
    }
    let error: string | undefined;
    try {
      await performWork(plan, this.deps.work);
    } catch (failure) {
      if (failure instanceof SimulatedCrash) throw failure;
      error = messageOf(failure);
    }
    const outcome = outcomeOf(error !== undefined, attempt, maxAttempts);
    return { taskId: message.id, run: message.run, queue, workerId, startedAt, finishedAt: now(), attempt, redelivered, outcome, error };
  }

  /** Publishes the retry or dead-letter copy (if any) and the result; the task is settled when all are confirmed. */
  private publishOutcome(held: Held, facts: AttemptFacts): void {
    const { task } = held;
    const messages: Outgoing[] = [];
    if (facts.outcome === 'retrying') {
      // Back to the task queue even from quarantine: an attempt that threw is no crash suspect.
      messages.push(this.copyOf(task, this.options.queue, { [ATTEMPT_HEADER]: facts.attempt + 1 }));
    } else if (facts.outcome === 'dead-lettered') {
      const reason = held.malformed ?? `failed ${facts.attempt} attempt(s): ${facts.error ?? 'no error message'}`;
      messages.push(this.deadLetterCopyOf(task, reason));
    }
    messages.push(this.resultOf(task, facts));
    this.publishThenSettle(task, messages, () => {
      this.deps.stats.count(facts.outcome);
      if (facts.outcome === 'dead-lettered') this.logDeadLettered(task, held.malformed ?? `failed ${facts.attempt} attempt(s): ${facts.error}`);
      if (this.deps.log.enabled('debug')) {
        this.deps.log.debug('task', { taskId: facts.taskId, run: facts.run, attempt: facts.attempt, outcome: facts.outcome, redelivered: facts.redelivered, ms: facts.finishedAt - facts.startedAt, error: facts.error });
      }
    });
  }

  /**
   * A redelivered task: its earlier delivery ended without an outcome, maybe by killing its worker.
   * Moved to quarantine with one more abandoned delivery counted, or, past the bound, dead-lettered.
   */
  private checkpoint(held: Held): void {
    const { task, message } = held;
    const { maxAttempts, queue, workerId } = this.options;
    const abandoned = abandonedOf(task.headers) + 1;
    const attempt = attemptOf(task.headers);
    if (abandoned + attempt - 1 >= maxAttempts) {
      const now = this.deps.now();
      const facts: AttemptFacts = { taskId: message?.id ?? task.messageId ?? 'unknown', run: message?.run, queue, workerId, startedAt: now, finishedAt: now, attempt, redelivered: true, outcome: 'dead-lettered', error: WORKER_CRASHED };
      const copy = this.deadLetterCopyOf(task, WORKER_CRASHED, { [ABANDONED_HEADER]: abandoned });
      this.publishThenSettle(task, [copy, this.resultOf(task, facts)], () => {
        this.deps.stats.count('dead-lettered');
        this.logDeadLettered(task, `${WORKER_CRASHED} (${abandoned} deliveries abandoned, ${attempt - 1} failed)`);
      });
      return;
    }
    this.publishThenSettle(task, [this.copyOf(task, quarantineQueueOf(queue), { [ABANDONED_HEADER]: abandoned })], () => {
      this.deps.stats.quarantined += 1;
      if (this.deps.log.enabled('debug')) this.deps.log.debug('task quarantined: its earlier delivery was abandoned', { taskId: task.messageId, abandoned });
    });
  }

  /** Returns an unstarted task to its queue as an identical copy; the original is acked once the copy is confirmed. */
  private handBack(task: InboundTask): void {
    this.publishThenSettle(task, [this.copyOf(task, this.source, {})], () => (this.deps.stats.handedBack += 1), undefined, false);
  }

  private copyOf(task: InboundTask, queue: string, headers: Record<string, unknown>): Outgoing {
    const properties: PublishProperties = { ...task.otherProperties, messageId: task.messageId, correlationId: task.correlationId, replyTo: task.replyTo, contentType: task.contentType, headers: { ...task.headers, ...headers } };
    return { queue, body: task.body, properties, kind: 'copy', taskId: task.messageId ?? 'no id' };
  }

  private deadLetterCopyOf(task: InboundTask, reason: string, headers: Record<string, unknown> = {}): Outgoing {
    return this.copyOf(task, deadLetterQueueOf(this.options.queue), { ...headers, [DEAD_LETTER_REASON_HEADER]: reason });
  }

  private resultOf(task: InboundTask, facts: AttemptFacts): Outgoing {
    return {
      queue: task.replyTo || this.options.resultsQueue,
      body: Buffer.from(JSON.stringify(buildResult(facts))),
      properties: { messageId: `${facts.taskId}/${facts.attempt}`, correlationId: facts.taskId, contentType: 'application/json' },
      kind: 'result',
      taskId: facts.taskId,
    };
  }

  private logDeadLettered(task: InboundTask, reason: string): void {
    this.deps.log.info('dead-lettered', { taskId: task.messageId ?? 'no id', reason, dlq: deadLetterQueueOf(this.options.queue), bytes: task.body.length });
  }

  /**
   * Publishes the messages; once the broker confirmed them all, acks the task and calls onSettled.
   * A message the broker refused sends the task back to its queue instead, so it is never lost: as
   * an identical copy when `mayHandBack` (a requeue would flag it redelivered, and the next worker
   * would count a delivery abandoned that was not), else by a requeue. A copy returned (its queue
   * gone) does the same once the worker declared its queues again: before that, the task would
   * come back to the same missing queue in a loop. A result that was returned is counted unroutable.
   */
  private publishThenSettle(task: InboundTask, messages: Outgoing[], onSettled: () => void, onDone?: () => void, mayHandBack = true): void {
    this.unconfirmed += 1;
    let awaiting = messages.length;
    let failure: Error | null = null;
    let missingQueue: string | undefined;
    const complete = () => {
      this.unconfirmed -= 1;
      this.settle(task, failure, onSettled, mayHandBack && !task.redelivered);
      onDone?.();
      this.progressed();
    };
    const finish = () => {
      const { log, onQueueMissing } = this.deps;
      if (missingQueue === undefined || !onQueueMissing) return complete();
      log.warn('a queue of the worker does not exist (deleted?); declaring its queues again before the task goes back', { queue: missingQueue, taskId: task.messageId });
      onQueueMissing(missingQueue).then(complete, (error: unknown) => {
        log.warn('declaring the queues again failed', { error: messageOf(error) });
        complete();
      });
    };
    for (let index = 0; index < messages.length; index++) {
      const outgoing = messages[index];
      const confirmed: Confirmed = (error) => {
        if (error instanceof UnroutableError && outgoing.kind === 'result') this.deps.unroutable.record(outgoing.queue, outgoing.taskId);
        else {
          if (error instanceof UnroutableError) missingQueue ??= outgoing.queue;
          failure ??= error;
        }
        if (--awaiting === 0) finish();
      };
      try {
        if (!this.deps.channel.publish(outgoing.queue, outgoing.body, outgoing.properties, confirmed)) {
          this.writable ??= this.deps.channel.drained().then(() => (this.writable = undefined));
        }
      } catch (error) {
        // Not handed over (the channel is closed, say): neither it nor the rest will be confirmed.
        failure ??= error instanceof Error ? error : new Error(String(error));
        awaiting -= messages.length - index;
        if (awaiting === 0) finish();
        return;
      }
    }
  }

  private settle(task: InboundTask, failure: Error | null, onSettled: () => void, mayHandBack: boolean): void {
    const { channel, log, stats } = this.deps;
    if (failure && mayHandBack) {
      // Not redelivered, so the copy loses nothing; if it too is refused, the task is requeued.
      log.warn('the broker did not take a message for this task; the task goes back to the queue as a copy', { taskId: task.messageId, error: failure.message });
      this.publishThenSettle(task, [this.copyOf(task, this.source, {})], () => {}, undefined, false);
      return;
    }
    if (failure) {
      stats.abandoned += 1;
      try {
        channel.nack(task, true);
        log.warn('the broker did not take a message for this task; the task goes back to the queue', { taskId: task.messageId, error: failure.message });
      } catch (error) {
        log.warn('task left unsettled; the broker redelivers it', { taskId: task.messageId, error: messageOf(error) });
      }
      return;
    }
    try {
      channel.ack(task);
    } catch (error) {
      stats.abandoned += 1;
      log.warn('task left unsettled; the broker redelivers it', { taskId: task.messageId, error: messageOf(error) });
      return;
    }
    onSettled();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
