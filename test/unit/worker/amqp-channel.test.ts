import { EventEmitter } from 'node:events';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { taskChannelOf } from '../../../templates/worker/src/amqp-channel.js';
import { UnroutableError, type InboundTask } from '../../../templates/worker/src/consumer.js';

/** Just enough of an amqplib confirm channel: records acks, holds publish callbacks, emits returns. */
class FakeAmqpChannel extends EventEmitter {
  readonly sent: string[] = [];
  readonly callbacks: Array<(error: unknown) => void> = [];
  closed = false;
  private onMessage?: (message: ConsumeMessage | null) => void;

  async consume(_queue: string, onMessage: (message: ConsumeMessage | null) => void) {
    this.onMessage = onMessage;
    return { consumerTag: 'ctag' };
  }
  ack(message: ConsumeMessage) {
    if (this.closed) throw new Error('Channel closed');
    this.sent.push(`ack ${message.fields.deliveryTag}`);
  }
  nack(message: ConsumeMessage, _all: boolean, requeue: boolean) {
    if (this.closed) throw new Error('Channel closed');
    this.sent.push(`nack ${message.fields.deliveryTag} requeue=${requeue}`);
  }
  sendToQueue(queue: string, _body: Buffer, options: { messageId?: string; mandatory?: boolean }, callback: (error: unknown) => void) {
    this.sent.push(`publish ${options.messageId} → ${queue} mandatory=${options.mandatory}`);
    this.callbacks.push(callback);
    return true;
  }
  deliver(deliveryTag: number, extra: Partial<ConsumeMessage['properties']> = {}): void {
    this.onMessage?.({ content: Buffer.from('{}'), fields: { deliveryTag, redelivered: false }, properties: { headers: {}, messageId: `m${deliveryTag}`, ...extra } } as unknown as ConsumeMessage);
  }
}

async function adapted() {
  const raw = new FakeAmqpChannel();
  const channel = taskChannelOf(raw as unknown as ConfirmChannel);
  const tasks: InboundTask[] = [];
  await channel.consume('q', (task) => task && tasks.push(task));
  return { raw, channel, tasks };
}

describe('taskChannelOf', () => {
  it('settles a delivery once: a second ack or nack throws and sends nothing', async () => {
    const { raw, channel, tasks } = await adapted();
    raw.deliver(1);
    channel.ack(tasks[0]);
    expect(() => channel.ack(tasks[0])).toThrow('not an unsettled task delivered on this channel');
    expect(() => channel.nack(tasks[0], true)).toThrow();
    expect(raw.sent).toEqual(['ack 1']);
  });

  it('never acks on a channel a task did not come on (after a reconnect, say)', async () => {
    const old = await adapted();
    const fresh = await adapted();
    old.raw.deliver(1);
    fresh.raw.deliver(1);
    expect(() => fresh.channel.ack(old.tasks[0])).toThrow('not an unsettled task delivered on this channel');
    expect(fresh.raw.sent).toEqual([]);
    // On the old, closed channel amqplib throws: nothing reaches the broker either.
    old.raw.closed = true;
    expect(() => old.channel.ack(old.tasks[0])).toThrow('Channel closed');
    expect(old.raw.sent).toEqual([]);
  });

  it('keeps the other properties of a delivery, so that a copy is identical', async () => {
    const { raw, tasks } = await adapted();
    raw.deliver(1, { timestamp: 42, priority: 3, type: 't', appId: undefined });
    expect(tasks[0].otherProperties).toEqual({ timestamp: 42, priority: 3, type: 't' });
  });

  it('publishes mandatory; a publish the broker returned is confirmed with an UnroutableError, the others with null', async () => {
    const { raw, channel } = await adapted();
    const answers: Array<string | null> = [];
    const record = (error: Error | null) => answers.push(error ? `${error.name}: ${error.message}` : null);
    channel.publish('gone', Buffer.from('r1'), { messageId: 'a/1' }, record);
    channel.publish('gone', Buffer.from('r2'), { messageId: 'b/1' }, record);
    channel.publish('here', Buffer.from('r3'), { messageId: 'a/1' }, record);
    expect(raw.sent).toEqual(['publish a/1 → gone mandatory=true', 'publish b/1 → gone mandatory=true', 'publish a/1 → here mandatory=true']);
    // basic.return precedes the confirm of the message it returns.
    raw.emit('return', { fields: { routingKey: 'gone' }, properties: { messageId: 'b/1' } });
    raw.callbacks.forEach((callback) => callback(null));
    expect(answers).toEqual([null, 'UnroutableError: queue gone does not exist', null]);
    expect(new UnroutableError('x')).toBeInstanceOf(Error);
  });

  it('passes a refusal (broker nack, closed channel) on as it is', async () => {
    const { raw, channel } = await adapted();
    const answers: Array<Error | null> = [];
    channel.publish('q', Buffer.from('x'), {}, (error) => answers.push(error));
    raw.callbacks[0](new Error('message nacked'));
    expect(answers.map((error) => error?.message)).toEqual(['message nacked']);
  });
});
