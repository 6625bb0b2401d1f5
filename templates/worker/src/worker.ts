import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type RecoveringChannelModel } from 'amqplib';
import { taskChannelOf } from './amqp-channel.js';
import { handleControlMessage, RunCancellations } from './control.js';
import { TaskConsumer, UnroutableResults, type WorkerStats } from './consumer.js';
import type { Heartbeat } from './heartbeat.js';
import type { Logger } from './log.js';
import { CONTROL_EXCHANGE, deadLetterQueueOf, quarantineQueueOf, taskQueueArguments } from './protocol.js';
import type { WorkerSettings } from './settings.js';
import type { WorkEnvironment } from './task-work.js';

export interface WorkerDependencies {
  log: Logger;
  stats: WorkerStats;
  heartbeat: Heartbeat;
  work: WorkEnvironment;
  now(): number;
}

/** The fallback results queue's bound when the worker creates it: nobody may read it, so the oldest go. */
export const RESULTS_QUEUE_ARGUMENTS = { 'x-max-length': 10_000, 'x-overflow': 'drop-head' };

interface Session {
  consumers: TaskConsumer[];
  /** Task channels first: closing them flushes their acks. */
  channels: Channel[];
}

/**
 * The broker side of the worker: one recovering connection; after every (re)connect fresh channels
 * re-assert the queues and start two TaskConsumers (the task queue with the prefetch, its quarantine
 * queue with prefetch 1) and a control consumer (a queue of its own bound to CONTROL_EXCHANGE). A
 * lost connection takes its unacked tasks with it; RabbitMQ redelivers them.
 */
export class Worker {
  private connection?: RecoveringChannelModel;
  private session?: Session;
  private stopping = false;
  private readonly cancellations = new RunCancellations();
  private readonly unroutable: UnroutableResults;
  /** One line per queue whose declaration was refused, not one per reconnect. */
  private readonly reportedQueues = new Set<string>();

  constructor(
    private readonly settings: WorkerSettings,
    private readonly workerId: string,
    private readonly deps: WorkerDependencies,
  ) {
    this.unroutable = new UnroutableResults(deps.stats, deps.log, deps.now);
  }

  get inFlight(): number {
    return this.session?.consumers.reduce((sum, consumer) => sum + consumer.inFlight, 0) ?? 0;
  }

  get working(): number {
    return this.session?.consumers.reduce((sum, consumer) => sum + consumer.workingNow, 0) ?? 0;
  }

  /** Connects, retrying with backoff for as long as it takes; resolves on the first session. */
  async start(): Promise<void> {
    const { log, heartbeat } = this.deps;
    const connection = await amqp.connect(this.settings.brokerUrl, {
      // Shown by `rabbitmqctl list_connections` and the management UI: which worker, which queue.
      clientProperties: { connection_name: `qscale-worker ${this.workerId} ${this.settings.queue}` },
      recovery: { initialDelay: 500, maxDelay: 5_000, factor: 2, jitter: 0.2, waitForConnect: false, setup: (model: ChannelModel) => this.openSession(model) },
    });
    this.connection = connection;
    connection.on('connect', () => log.info('consuming', { queue: this.settings.queue, quarantine: quarantineQueueOf(this.settings.queue) }));
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

  /** Drains the current consumers, then closes their channels and the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deps.heartbeat.stop();
    const session = this.session;
    if (session) {
      await Promise.all(session.consumers.map((consumer) => consumer.drain()));
      // Closing the channels first flushes their acks: amqplib may write a connection close ahead of
      // them, and RabbitMQ would then redeliver tasks already done (duplicates).
      for (const channel of session.channels) await channel.close().catch(() => {});
    }
    await this.connection?.close();
  }

  /**
   * The drain ran out of time: hands the unfinished tasks back (INTERRUPTED_HEADER) and flushes their
   * acks, within `withinMs`; what is left returns to the queue when the process exits.
   */
  async handBackUnfinished(withinMs: number): Promise<void> {
    const session = this.session;
    if (!session) return;
    let timer: NodeJS.Timeout | undefined;
    const handedBack = Promise.all(session.consumers.map((consumer) => consumer.handBackUnfinished())).then(async () => {
      for (const channel of session.channels) await channel.close().catch(() => {});
    });
    await Promise.race([handedBack, new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)))]);
    clearTimeout(timer);
  }

  private async openSession(model: ChannelModel): Promise<void> {
    const { log, heartbeat } = this.deps;
    const { queue, prefetch } = this.settings;
    const session: Session = { consumers: [], channels: [] };
    // A channel that dies under a live connection would leave the worker idle: reconnect instead.
    const watch = <T extends Channel>(channel: T): T => {
      channel.on('error', (error: Error) => log.warn('channel error', { error: error.message }));
      channel.on('close', () => {
        if (!this.stopping && this.session === session) model.close().catch(() => {});
      });
      session.channels.push(channel);
      return channel;
    };

    await this.declareQueues(model);

    const taskChannel = watch(await model.createConfirmChannel());
    await taskChannel.prefetch(prefetch);
    // Suspects one at a time: a task that kills its worker takes at most this one down with it.
    const quarantineChannel = watch(await model.createConfirmChannel());
    await quarantineChannel.prefetch(1);
    const control = watch(await model.createChannel());
    await control.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
    const { queue: controlQueue } = await control.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await control.bindQueue(controlQueue, CONTROL_EXCHANGE, '');
    if (this.stopping) throw new Error('stopping');

    const common = { workerId: this.workerId, maxAttempts: this.settings.maxAttempts, resultsQueue: this.settings.resultsQueue, defaults: this.settings.work, queue };
    // Declared again on the live connection: reconnecting would requeue every task in flight, flagged redelivered.
    let redeclaring: Promise<void> | undefined;
    const onQueueMissing = () => (redeclaring ??= this.declareQueues(model).finally(() => (redeclaring = undefined)));
    const dependencies = { ...this.deps, cancellations: this.cancellations, unroutable: this.unroutable, onCancelled: () => model.close().catch(() => {}), onQueueMissing };
    session.consumers.push(
      new TaskConsumer({ ...common, concurrency: this.settings.concurrency, maxUnconfirmed: prefetch }, { ...dependencies, channel: taskChannelOf(taskChannel) }),
      new TaskConsumer({ ...common, quarantine: true, concurrency: 1, maxUnconfirmed: 1 }, { ...dependencies, channel: taskChannelOf(quarantineChannel) }),
    );
    this.session = session;
    await control.consume(controlQueue, (message: ConsumeMessage | null) => message && this.obey(message, control), { noAck: true });
    for (const consumer of session.consumers) await consumer.start();
    heartbeat.start();
  }

  /** The task queue, its quarantine and dead-letter queues, and the results queue: as the worker needs them. */
  private async declareQueues(model: ChannelModel): Promise<void> {
    const { log } = this.deps;
    const { queue, queueType } = this.settings;
    for (const name of [queue, quarantineQueueOf(queue)]) {
      await this.declareQueue(model, name, { durable: true, arguments: taskQueueArguments(queue, queueType) }, (reason) =>
        log.warn(`queue ${name} exists with other arguments than the worker's (QUEUE_TYPE asks for ${queueType}); consuming it as it is. To migrate: stop its producers and workers, let it empty, delete it (rabbitmqctl delete_queue ${name}), start the workers again`, { queue: name, broker: reason }),
      );
    }
    await this.declareQueue(model, deadLetterQueueOf(queue), { durable: true }, (reason) => log.warn(`queue ${deadLetterQueueOf(queue)} exists with other arguments; using it as it is`, { broker: reason }));
    // Someone else's results queue (unbounded, say) is theirs to keep: used as it is.
    await this.declareQueue(model, this.settings.resultsQueue, { durable: true, arguments: RESULTS_QUEUE_ARGUMENTS }, (reason) =>
      log.info('the results queue exists with other arguments than the worker would give it (x-max-length); using it as it is', { resultsQueue: this.settings.resultsQueue, broker: reason }),
    );
  }

  private obey(message: ConsumeMessage, control: Channel): void {
    handleControlMessage(message.content, {
      workerId: this.workerId,
      queue: this.settings.queue,
      cancellations: this.cancellations,
      dropRun: (run) => this.session?.consumers.forEach((consumer) => consumer.dropRun(run)),
      state: () => ({ working: this.working, held: this.inFlight, draining: this.stopping }),
      reply: (replyTo, body, correlationId) => control.sendToQueue(replyTo, body, { correlationId, contentType: 'application/json' }),
      now: this.deps.now,
      log: this.deps.log,
    }, message.properties.replyTo ?? undefined);
  }

  /**
   * Declares a queue on a channel of its own. A queue that exists with other arguments (another
   * type, say) is used as it is: RabbitMQ refuses the redeclare (406), which costs only the probe
   * channel; `refused` says so, once per queue over the worker's life, not once per reconnect.
   */
  private async declareQueue(model: ChannelModel, name: string, options: { durable: boolean; arguments?: Record<string, unknown> }, refused: (brokerReason: string) => void): Promise<void> {
    const probe = await model.createChannel();
    probe.on('error', () => {});
    try {
      await probe.assertQueue(name, options);
      await probe.close();
    } catch (error) {
      if ((error as { code?: number }).code !== 406) throw error;
      if (this.reportedQueues.has(name)) return;
      this.reportedQueues.add(name);
      refused((error as Error).message.replace(/^Operation failed: QueueDeclare; 406 \(PRECONDITION-FAILED\) with message "/, '').replace(/"$/, ''));
    }
  }
}
