import type { InboundTask, PublishProperties, TaskChannel } from '../../../templates/worker/src/consumer.js';

/** An in-memory TaskChannel: records every call, in order, as one line of text. */
export class FakeChannel implements TaskChannel {
  readonly calls: string[] = [];
  readonly published: Array<{ queue: string; body: Buffer; properties: PublishProperties }> = [];
  onTask?: (task: InboundTask | null) => void;
  failPublish = false;

  async consume(queue: string, onTask: (task: InboundTask | null) => void): Promise<string> {
    this.calls.push(`consume ${queue}`);
    this.onTask = onTask;
    return 'ctag-1';
  }

  async cancel(consumerTag: string): Promise<void> {
    this.calls.push(`cancel ${consumerTag}`);
  }

  ack(task: InboundTask): void {
    this.calls.push(`ack ${task.messageId}`);
  }

  nack(task: InboundTask, requeue: boolean): void {
    this.calls.push(`nack ${task.messageId} requeue=${requeue}`);
  }

  async publish(queue: string, body: Buffer, properties: PublishProperties): Promise<void> {
    if (this.failPublish) throw new Error('Channel closed');
    this.published.push({ queue, body, properties });
    const json = JSON.parse(body.toString()) as { outcome?: string; id?: string; taskId?: string };
    this.calls.push(json.outcome ? `result ${json.taskId} ${json.outcome} → ${queue}` : `republish ${json.id} → ${queue}`);
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
