import amqp, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import { taskChannelOf } from './amqp-channel.js';
import { TaskConsumer, type WorkerStats } from './consumer.js';
import type { Heartbeat } from './heartbeat.js';
import type { Logger } from './log.js';
import { deadLetterQueueOf, taskQueueArguments } from './protocol.js';
import type { WorkerSettings } from './settings.js';
import type { WorkEnvironment } from './task-work.js';

export interface WorkerDependencies {
  log: Logger;
  stats: WorkerStats;
  heartbeat: Heartbeat;
  work: WorkEnvironment;
  now(): number;
}

/**
 * The broker side of the worker: one recovering connection; after every (re)connect a fresh
 * confirm channel re-asserts the queues and starts a TaskConsumer. A lost connection takes its
 * unacked tasks with it; RabbitMQ redelivers them.
 */
export class Worker {
  private connection?: RecoveringChannelModel;
  private session?: { consumer: TaskConsumer; channel: ConfirmChannel };
  private stopping = false;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly workerId: string,
    private readonly deps: WorkerDependencies,
  ) {}

  get inFlight(): number {
    return this.session?.consumer.inFlight ?? 0;
  }

  /** Connects, retrying with backoff for as long as it takes; resolves on the first session. */
  async start(): Promise<void> {
    const { log, heartbeat } = this.deps;
    const connection = await amqp.connect(this.settings.brokerUrl, {
      recovery: { initialDelay: 500, maxDelay: 5_000, factor: 2, jitter: 0.2, waitForConnect: false, setup: (model: ChannelModel) => this.openSession(model) },
    });
    this.connection = connection;
    connection.on('connect', () => log.info('consuming', { queue: this.settings.queue }));
    connection.on('disconnect', (error: Error) => {
      heartbeat.stop();
      this.session = undefined;
      log.warn('lost the broker connection; reconnecting', { error: error.message });
    });
    connection.on('connect-failed', (error: Error) => log.warn('connecting to the broker failed', { broker: this.settings.brokerUrl, error: error.message }));
    connection.on('reconnect-scheduled', ({ attempt, delay }: { attempt: number; delay: number }) => log.info('reconnect scheduled', { attempt, delayMs: delay }));
    connection.on('error', (error: Error) => log.warn('broker connection error', { error: error.message }));
    connection.on('handler-error', (error: Error, event: string) => log.error('listener failed', { event, error: error.message }));
    await connection.waitForConnect();
  }

  /** Drains the current consumer, then closes its channel and the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deps.heartbeat.stop();
    const session = this.session;
    if (session) {
      await session.consumer.drain();
      // Closing the channel first flushes its acks: amqplib may write a connection close ahead of
      // them, and RabbitMQ would then redeliver tasks already done (duplicates).
      await session.channel.close().catch(() => {});
    }
    await this.connection?.close();
  }

  private async openSession(model: ChannelModel): Promise<void> {
    const { log, heartbeat } = this.deps;
    const { queue } = this.settings;
    const channel = await model.createConfirmChannel();
    let consumer: TaskConsumer | undefined;
    channel.on('error', (error: Error) => log.warn('channel error', { error: error.message }));
    channel.on('return', (message: { fields: { routingKey: string } }) =>
      log.warn('a result was unroutable: its queue does not exist', { resultsQueue: message.fields.routingKey }),
    );
    // A channel that dies under a live connection would leave the worker idle: reconnect instead.
    channel.on('close', () => {
      if (!this.stopping && consumer && this.session?.consumer === consumer) model.close().catch(() => {});
    });
    await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
    await channel.assertQueue(deadLetterQueueOf(queue), { durable: true });
    await this.assertResultsQueue(model);
    await channel.prefetch(this.settings.prefetch);
    if (this.stopping) throw new Error('stopping');

    consumer = new TaskConsumer(
      {
        queue,
        workerId: this.workerId,
        concurrency: this.settings.concurrency,
        maxUnconfirmed: this.settings.prefetch,
        maxAttempts: this.settings.maxAttempts,
        resultsQueue: this.settings.resultsQueue,
        defaults: this.settings.work,
      },
      { ...this.deps, channel: taskChannelOf(channel), onCancelled: () => model.close().catch(() => {}) },
    );
    this.session = { consumer, channel };
    await consumer.start();
    heartbeat.start();
  }

  /** The fallback results queue, declared durable; a producer that declared it otherwise wins (logged). */
  private async assertResultsQueue(model: ChannelModel): Promise<void> {
    const probe = await model.createChannel();
    probe.on('error', () => {});
    try {
      await probe.assertQueue(this.settings.resultsQueue, { durable: true });
      await probe.close();
    } catch (error) {
      this.deps.log.warn('could not declare the results queue; using it as it is', { resultsQueue: this.settings.resultsQueue, error: (error as Error).message });
    }
  }
}
