import type { Confirmed, InboundTask, PublishProperties, TaskChannel } from '../../../templates/worker/src/consumer.js';

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
    if (this.closed) throw new Error('Channel closed');
    this.calls.push(`ack ${task.messageId}`);
  }

  nack(task: InboundTask, requeue: boolean): void {
    if (this.closed) throw new Error('Channel closed');
    this.calls.push(`nack ${task.messageId} requeue=${requeue}`);
  }

  publish(queue: string, body: Buffer, properties: PublishProperties, confirmed: Confirmed): boolean {
    if (this.failPublish || this.closed) throw new Error('Channel closed');
    this.published.push({ queue, body, properties });
    const json = JSON.parse(body.toString()) as { outcome?: string; id?: string; taskId?: string };
    this.calls.push(json.outcome ? `result ${json.taskId} ${json.outcome} → ${queue}` : `republish ${json.id} → ${queue}`);
    if (this.autoConfirm) queueMicrotask(() => confirmed(null));
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
    this.onTask(full);
    return full;
  }

  resultsFor(taskId: string) {
    return this.published.map((entry) => JSON.parse(entry.body.toString())).filter((json) => json.taskId === taskId);
  }
}

/** A promise with its resolve exposed: lets a test decide when simulated work finishes. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
