import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { InboundTask, TaskChannel } from './consumer.js';

/** Adapts an amqplib confirm channel to the consumer's TaskChannel. */
export function taskChannelOf(channel: ConfirmChannel): TaskChannel {
  const delivered = new WeakMap<InboundTask, ConsumeMessage>();
  const messageOf = (task: InboundTask) => {
    const message = delivered.get(task);
    if (!message) throw new Error('not a task delivered on this channel');
    return message;
  };
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
      channel.ack(messageOf(task));
    },
    nack(task, requeue) {
      channel.nack(messageOf(task), false, requeue);
    },
    publish(queue, body, properties, confirmed) {
      // mandatory: a result for a queue that does not exist comes back as a 'return' and is logged.
      return channel.sendToQueue(queue, body, { ...properties, persistent: true, mandatory: true }, (error) => confirmed(error ?? null));
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
