import type amqp from 'amqplib';
import type { TaskMessage } from '../../../templates/worker/src/protocol.js';
import { taskQueueArguments } from '../../../templates/worker/src/protocol.js';
import { QscaleError } from '../../core/errors.js';
import type { OnConfirm, QueueInfo, ResultDelivery, ResultSubscription, TaskBroker } from '../../core/ports/task-broker.js';
import { maskUrlPasswords } from '../../core/secrets.js';
import { brokerUnreachable, connectAmqp } from './broker-admin.js';

/** Opens the load tester's connection: one confirm channel to publish, one channel to consume results. */
export async function openTaskBroker(url: string): Promise<TaskBroker> {
  const connection = await connectAmqp(url);
  try {
    const publishChannel = await connection.createConfirmChannel();
    const resultsChannel = await connection.createChannel();
    publishChannel.on('error', () => {});
    resultsChannel.on('error', () => {});
    return new AmqpTaskBroker(maskUrlPasswords(url), connection, publishChannel, resultsChannel);
  } catch (error) {
    await connection.close().catch(() => {});
    throw brokerUnreachable(url, error);
  }
}

class AmqpTaskBroker implements TaskBroker {
  private drain: Promise<void> | undefined;

  constructor(
    readonly endpoint: string,
    private readonly connection: amqp.ChannelModel,
    private readonly publishChannel: amqp.ConfirmChannel,
    private readonly resultsChannel: amqp.Channel,
  ) {}

  async ensureTaskQueue(queue: string): Promise<void> {
    // A refused declare closes its channel: a channel of its own.
    await this.withChannel(async (channel) => {
      try {
        await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
      } catch (error) {
        if ((error as { code?: number }).code === 406) {
          throw new QscaleError('BROKER_FAILED', `queue ${queue} exists with other settings than qscale's task queues (durable, dead-lettering to ${queue}.dlq)`, {
            hint: 'delete it, or let the workers declare it',
            cause: error,
          });
        }
        throw error;
      }
    });
  }

  async createResultsQueue(queue: string): Promise<void> {
    // Exclusive: deleted by the broker when this connection ends, even if the run crashes.
    await this.resultsChannel.assertQueue(queue, { exclusive: true, durable: false });
  }

  async deleteResultsQueue(queue: string): Promise<void> {
    await this.withChannel((channel) => channel.deleteQueue(queue).then(() => {}));
  }

  publishTask(queue: string, task: TaskMessage, replyTo: string, onConfirm: OnConfirm): boolean {
    const accepted = this.publishChannel.publish(
      '',
      queue,
      Buffer.from(JSON.stringify(task)),
      { messageId: task.id, replyTo, persistent: true, contentType: 'application/json' },
      // amqplib passes null on ack, an Error on nack or when the channel closes.
      (error) => (error ? onConfirm(error instanceof Error ? error : new Error(String(error))) : onConfirm()),
    );
    if (!accepted && !this.drain) {
      this.drain = new Promise<void>((resolve) => this.publishChannel.once('drain', resolve)).finally(() => (this.drain = undefined));
    }
    return accepted;
  }

  drained(): Promise<void> {
    return this.drain ?? Promise.resolve();
  }

  async consumeResults(queue: string, onResult: (delivery: ResultDelivery) => void): Promise<ResultSubscription> {
    const { consumerTag } = await this.resultsChannel.consume(
      queue,
      (message) => {
        if (!message) return;
        let body: unknown;
        try {
          body = JSON.parse(message.content.toString('utf8'));
        } catch {
          body = undefined;
        }
        onResult({ body });
      },
      { noAck: true },
    );
    return { cancel: () => this.resultsChannel.cancel(consumerTag).then(() => {}) };
  }

  async queueInfo(queue: string): Promise<QueueInfo | undefined> {
    try {
      return await this.withChannel(async (channel) => {
        const reply = await channel.checkQueue(queue);
        return { ready: reply.messageCount, consumers: reply.consumerCount };
      });
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }

  private async withChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
    const channel = await this.connection.createChannel();
    let closed = false;
    channel.on('error', () => {});
    channel.on('close', () => (closed = true));
    try {
      return await work(channel);
    } finally {
      if (!closed) await channel.close().catch(() => {});
    }
  }
}
