import type { ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import { UnroutableError, type InboundTask, type TaskChannel } from './consumer.js';

interface PendingPublish {
  queue: string;
  messageId?: string;
  returned: boolean;
}

/**
 * Adapts an amqplib confirm channel to the consumer's TaskChannel. A delivery is settled at most
 * once and only on the channel it came on: a second ack, or an ack of another channel's task,
 * throws here instead of reaching the broker as an "unknown delivery tag" channel error.
 */
export function taskChannelOf(channel: ConfirmChannel): TaskChannel {
  const delivered = new WeakMap<InboundTask, ConsumeMessage>();
  const takeMessageOf = (task: InboundTask) => {
    const message = delivered.get(task);
    if (!message) throw new Error('not an unsettled task delivered on this channel');
    delivered.delete(task);
    return message;
  };
  // RabbitMQ sends a mandatory message's basic.return before its confirm, and in publish order: the
  // oldest unconfirmed publish to that queue with that id is the one returned.
  const pending: PendingPublish[] = [];
  channel.on('return', (message: Message) => {
    const entry = pending.find((each) => !each.returned && each.queue === message.fields.routingKey && each.messageId === (message.properties.messageId ?? undefined));
    if (entry) entry.returned = true;
  });
  return {
    async consume(queue, onTask) {
      const reply = await channel.consume(
        queue,
        (message) => {
          if (!message) return onTask(null);
          const { properties } = message;
          const task: InboundTask = {
            body: message.content,
            redelivered: message.fields.redelivered,
            messageId: properties.messageId ?? undefined,
            replyTo: properties.replyTo ?? undefined,
            correlationId: properties.correlationId ?? undefined,
            contentType: properties.contentType ?? undefined,
            headers: properties.headers ?? {},
            otherProperties: definedOnly({
              contentEncoding: properties.contentEncoding,
              type: properties.type,
              appId: properties.appId,
              timestamp: properties.timestamp,
              priority: properties.priority,
              expiration: properties.expiration,
            }),
          };
          delivered.set(task, message);
          onTask(task);
        },
        { noAck: false },
      );
      return reply.consumerTag;
    },
    async cancel(consumerTag) {
      await channel.cancel(consumerTag);
    },
    ack(task) {
      channel.ack(takeMessageOf(task));
    },
    nack(task, requeue) {
      channel.nack(takeMessageOf(task), false, requeue);
    },
    publish(queue, body, properties, confirmed) {
      const entry: PendingPublish = { queue, messageId: properties.messageId, returned: false };
      pending.push(entry);
      const settle = (error: unknown) => {
        const index = pending.indexOf(entry);
        if (index >= 0) pending.splice(index, 1);
        if (error) confirmed(error instanceof Error ? error : new Error(String(error)));
        else confirmed(entry.returned ? new UnroutableError(`queue ${queue} does not exist`) : null);
      };
      try {
        return channel.sendToQueue(queue, body, { ...properties, persistent: true, mandatory: true }, settle);
      } catch (error) {
        pending.splice(pending.indexOf(entry), 1);
        throw error;
      }
    },
    drained() {
      return new Promise((resolve) => {
        const done = () => {
          channel.off('drain', done);
          channel.off('close', done);
          resolve();
        };
        channel.on('drain', done);
        channel.on('close', done);
      });
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> | undefined {
  const entries = Object.entries(value).filter(([, each]) => each !== undefined && each !== null);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as Partial<T>);
}
