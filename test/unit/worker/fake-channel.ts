import type { Logger } from '../../../templates/worker/src/log.js';
import { UnroutableError, type Confirmed, type InboundTask, type PublishProperties, type TaskChannel } from '../../../templates/worker/src/consumer.js';

/**
 * An in-memory TaskChannel: records every call, in order, as one line of text. By default each
 * publish is confirmed a microtask later, as a broker would; with autoConfirm off the test
 * confirms or refuses them with confirm().
 */
export class FakeChannel implements TaskChannel {
  readonly calls: string[] = [];
  readonly published: Array<{ queue: string; body: Buffer; properties: PublishProperties }> = [];
  onTask?: (task: InboundTask | null) => void;
  /** publish throws, as amqplib's does on a channel already closed. */
  failPublish = false;
  /** Every call throws, as on a closed channel. */
  closed = false;
  autoConfirm = true;
  /** Queues that do not exist: a publish to one is returned (confirmed with an UnroutableError). */
  readonly missingQueues = new Set<string>();
  /** Tasks delivered and not yet settled: settling one twice throws, as the adapter does. */
  private readonly unsettled = new Set<InboundTask>();
  /** publish returns false (a full write buffer) until drain(). */
  full = false;
  /** Publishes awaiting confirm(), oldest first, by messageId. */
  readonly unconfirmed: Array<{ messageId?: string; confirmed: Confirmed }> = [];
  private readonly drainWaiters: Array<() => void> = [];

  async consume(queue: string, onTask: (task: InboundTask | null) => void): Promise<string> {
    this.calls.push(`consume ${queue}`);
    this.onTask = onTask;
    return 'ctag-1';
  }

  async cancel(consumerTag: string): Promise<void> {
    this.calls.push(`cancel ${consumerTag}`);
  }

  ack(task: InboundTask): void {
    this.take(task);
    this.calls.push(`ack ${task.messageId}`);
  }

  nack(task: InboundTask, requeue: boolean): void {
    this.take(task);
    this.calls.push(`nack ${task.messageId} requeue=${requeue}`);
  }

  private take(task: InboundTask): void {
    if (this.closed) throw new Error('Channel closed');
    if (!this.unsettled.delete(task)) throw new Error(`task ${task.messageId} settled twice or not delivered here`);
  }

  publish(queue: string, body: Buffer, properties: PublishProperties, confirmed: Confirmed): boolean {
    if (this.failPublish || this.closed) throw new Error('Channel closed');
    this.published.push({ queue, body, properties });
    const json = parseOrUndefined(body) as { outcome?: string; taskId?: string } | undefined;
    this.calls.push(json?.outcome ? `result ${json.taskId} ${json.outcome} → ${queue}` : `copy ${properties.messageId} → ${queue}`);
    const answer = this.missingQueues.has(queue) ? new UnroutableError(`queue ${queue} does not exist`) : null;
    if (this.autoConfirm) queueMicrotask(() => confirmed(answer));
    else this.unconfirmed.push({ messageId: properties.messageId, confirmed });
    return !this.full;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The write buffer empties: publish returns true again and drained() resolves. */
  drain(): void {
    this.full = false;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Confirms the oldest `count` unconfirmed publishes, or refuses them with `error` (a broker nack, a closed channel). */
  confirm(count = this.unconfirmed.length, error: Error | null = null): void {
    for (const { confirmed } of this.unconfirmed.splice(0, count)) confirmed(error);
  }

  deliver(task: Partial<InboundTask> & { messageId: string }): InboundTask {
    const full: InboundTask = { body: Buffer.from(JSON.stringify({ id: task.messageId, sentAt: 0 })), redelivered: false, headers: {}, replyTo: 'results.run1', ...task };
    if (!this.onTask) throw new Error('not consuming');
    this.unsettled.add(full);
    this.onTask(full);
    return full;
  }

  resultsFor(taskId: string) {
    return this.published.map((entry) => parseOrUndefined(entry.body)).filter((json) => json?.taskId === taskId);
  }

  /** The copies of tasks published to a queue (retries, quarantine, dead letters, hand-backs). */
  copiesTo(queue: string) {
    return this.published.filter((entry) => entry.queue === queue && !parseOrUndefined(entry.body)?.outcome);
  }
}

function parseOrUndefined(body: Buffer): any {
  try {
    return JSON.parse(body.toString());
  } catch {
    return undefined;
  }
}

/** A promise with its resolve exposed: lets a test decide when simulated work finishes. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

type LogLine = [level: string, msg: string, fields: Record<string, unknown> | undefined];

/** A logger that keeps every line, for tests that assert what the worker says. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push([level, msg, fields]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), enabled: (level) => level !== 'debug' };
}

