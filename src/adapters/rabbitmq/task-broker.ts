import type amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { ControlMessage, TaskMessage, WorkerStateReport } from '../../../templates/worker/src/protocol.js';
import { CONTROL_EXCHANGE, taskQueueArguments } from '../../../templates/worker/src/protocol.js';
import { QscaleError } from '../../core/errors.js';
import type {
  BrokerConnectionEvent,
  ConfirmFailure,
  OnConfirm,
  QueueInfo,
  ResultDelivery,
  ResultSubscription,
  TaskBroker,
} from '../../core/ports/task-broker.js';
import { maskUrlPasswords } from '../../core/secrets.js';
import { openBrokerAdmin, brokerUnreachable, connectAmqp } from './broker-admin.js';
import type { BrokerAdmin } from '../../core/ports/broker.js';

/**
 * The load tester's connections: one to publish (a confirm channel), one to consume results and
 * ask about queues. Separate, because a memory or disk alarm blocks connections that publish: the
 * results keep coming while publishing waits. With a management URL, queue counts include unacked.
 */
export async function openTaskBroker(url: string, managementUrl?: string): Promise<TaskBroker> {
  const broker = new AmqpTaskBroker(url, managementUrl);
  await broker.reconnect().catch((error) => {
    throw error instanceof QscaleError ? error : brokerUnreachable(url, error);
  });
  return broker;
}

/** Both connections of one generation; a new pair replaces it on reconnect. */
interface Session {
  publishConnection: amqp.ChannelModel;
  consumeConnection: amqp.ChannelModel;
  publishChannel: amqp.ConfirmChannel;
  resultsChannel: amqp.Channel;
  /** Confirm callbacks not yet called, failed as 'cut-off' when the session ends. */
  outstanding: Set<OnConfirm>;
  ended: boolean;
}

class AmqpTaskBroker implements TaskBroker {
  readonly endpoint: string;
  private session: Session | undefined;
  private listener: (event: BrokerConnectionEvent) => void = () => {};
  private drain: Promise<void> | undefined;
  private admin: BrokerAdmin | undefined;
  private closing = false;

  constructor(
    private readonly url: string,
    private readonly managementUrl: string | undefined,
  ) {
    this.endpoint = maskUrlPasswords(url);
  }

  onConnectionEvent(listener: (event: BrokerConnectionEvent) => void): void {
    this.listener = listener;
  }

  async reconnect(): Promise<void> {
    // The old pair goes, whichever of its connections still lives (a lost channel leaves them open).
    if (this.session) this.endSession(this.session, 'reconnecting');
    const publishConnection = await connectAmqp(this.url);
    let consumeConnection: amqp.ChannelModel | undefined;
    try {
      consumeConnection = await connectAmqp(this.url);
      const publishChannel = await publishConnection.createConfirmChannel();
      const resultsChannel = await consumeConnection.createChannel();
      const session: Session = { publishConnection, consumeConnection, publishChannel, resultsChannel, outstanding: new Set(), ended: false };
      const lost = (what: string) => (error?: Error) => {
        if (session.ended || this.closing) return;
        this.endSession(session, 'closed');
        this.listener({ type: 'lost', reason: `${what} closed${error?.message ? `: ${maskUrlPasswords(error.message)}` : ''}` });
      };
      for (const [emitter, what] of [
        [publishConnection, 'publishing connection'],
        [consumeConnection, 'results connection'],
        [publishChannel, 'publishing channel'],
        [resultsChannel, 'results channel'],
      ] as const) {
        emitter.on('error', () => {});
        emitter.on('close', lost(what));
      }
      publishConnection.on('blocked', (reason: string) => this.listener({ type: 'blocked', reason }));
      publishConnection.on('unblocked', () => this.listener({ type: 'unblocked' }));
      this.session = session;
      this.drain = undefined;
    } catch (error) {
      await publishConnection.close().catch(() => {});
      await consumeConnection?.close().catch(() => {});
      throw error;
    }
  }

  async ensureTaskQueue(queue: string): Promise<void> {
    // An existing queue is kept as it is (workers may have declared it as a quorum queue).
    if (await this.queueExists(queue)) return;
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

  async createResultsQueue(queue: string, expiresMs: number): Promise<void> {
    // Durable, not exclusive: it survives the tester's reconnects and a broker restart, so results
    // published while the tester is away wait for it; x-expires removes it if the tester dies.
    await this.withChannel((channel) => channel.assertQueue(queue, { durable: true, exclusive: false, arguments: { 'x-expires': Math.max(1000, Math.round(expiresMs)) } }).then(() => {}));
  }

  async deleteResultsQueue(queue: string): Promise<void> {
    await this.withChannel((channel) => channel.deleteQueue(queue).then(() => {}));
  }

  publishTask(queue: string, task: TaskMessage, replyTo: string, onConfirm: OnConfirm): boolean {
    const session = this.session;
    if (!session || session.ended) {
      onConfirm('cut-off');
      return true;
    }
    let settled = false;
    const settle: OnConfirm = (failure) => {
      if (settled) return;
      settled = true;
      session.outstanding.delete(settle);
      onConfirm(failure);
    };
    session.outstanding.add(settle);
    let accepted: boolean;
    try {
      accepted = session.publishChannel.publish(
        '',
        queue,
        Buffer.from(JSON.stringify(task)),
        { messageId: task.id, replyTo, persistent: true, contentType: 'application/json' },
        // amqplib passes null on ack, 'message nacked' on a nack, 'channel closed' when the channel
        // closes — before our own 'close' listener runs, so the message tells them apart.
        (error) => settle(error ? (/nacked/.test(String((error as Error).message)) && !session.ended ? 'refused' : 'cut-off') : undefined),
      );
    } catch {
      // The channel closed under us: the 'close' handler fails everything outstanding.
      settle('cut-off');
      return true;
    }
    if (!accepted && !this.drain) {
      this.drain = new Promise<void>((resolve) => {
        const done = () => {
          session.publishChannel.off('drain', done);
          session.publishChannel.off('close', done);
          resolve();
        };
        session.publishChannel.on('drain', done);
        session.publishChannel.on('close', done);
      }).finally(() => (this.drain = undefined));
    }
    return accepted;
  }

  drained(): Promise<void> {
    return this.drain ?? Promise.resolve();
  }

  async consumeResults(queue: string, onResult: (delivery: ResultDelivery) => void): Promise<ResultSubscription> {
    const { resultsChannel } = this.current();
    const { consumerTag } = await resultsChannel.consume(
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
    return { cancel: () => resultsChannel.cancel(consumerTag).then(() => {}) };
  }

  async queueInfo(queue: string): Promise<QueueInfo | undefined> {
    let info: QueueInfo | undefined;
    try {
      info = await this.withChannel(async (channel) => {
        const reply = await channel.checkQueue(queue);
        return { ready: reply.messageCount, consumers: reply.consumerCount };
      });
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
    if (this.managementUrl) {
      // Only unacked comes from the API: its counts lag by its statistics interval.
      this.admin ??= await openBrokerAdmin(this.url, this.managementUrl).catch(() => undefined);
      const stats = await this.admin?.queueStats([queue]).catch(() => undefined);
      const unacked = stats?.get(queue)?.unacked;
      if (unacked !== undefined) info.unacked = unacked;
    }
    return info;
  }

  private async queueExists(queue: string): Promise<boolean> {
    try {
      await this.withChannel((channel) => channel.checkQueue(queue));
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  }

  async purgeQueue(queue: string): Promise<number> {
    try {
      return await this.withChannel(async (channel) => (await channel.purgeQueue(queue)).messageCount);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return 0;
      throw error;
    }
  }

  async askWorkersHeld(queues: string[], expectedReplies: number, timeoutMs: number): Promise<{ replies: number; heldByQueue: Map<string, number> }> {
    const { consumeConnection } = this.current();
    const channel = await consumeConnection.createConfirmChannel();
    channel.on('error', () => {});
    const heldByQueue = new Map<string, number>();
    const seen = new Set<string>();
    const requestId = randomUUID();
    try {
      const { queue: replyTo } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      let done: () => void = () => {};
      const allIn = new Promise<void>((resolve) => (done = resolve));
      await channel.consume(
        replyTo,
        (message) => {
          if (!message) return;
          let report: Partial<WorkerStateReport>;
          try {
            report = JSON.parse(message.content.toString('utf8'));
          } catch {
            return;
          }
          if (report.type !== 'worker-state' || report.requestId !== requestId || typeof report.queue !== 'string' || typeof report.held !== 'number') return;
          // Workers of other queues answer the broadcast too.
          if (!queues.includes(report.queue)) return;
          if (seen.has(String(report.workerId))) return;
          seen.add(String(report.workerId));
          heldByQueue.set(report.queue, (heldByQueue.get(report.queue) ?? 0) + report.held);
          if (seen.size >= expectedReplies) done();
        },
        { noAck: true },
      );
      await channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
      const request: ControlMessage = { type: 'report-state', requestId, replyTo };
      channel.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(request)), { contentType: 'application/json', correlationId: requestId });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allIn, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      return { replies: seen.size, heldByQueue };
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async publishControl(message: ControlMessage): Promise<void> {
    // On the results connection: an alarm that blocks publishing must not hold up a cancel.
    const { consumeConnection } = this.current();
    const channel = await consumeConnection.createConfirmChannel();
    channel.on('error', () => {});
    try {
      await channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
      channel.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(message)), { contentType: 'application/json' });
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const session = this.session;
    if (session) {
      this.endSession(session, 'closed');
      await Promise.all([session.publishConnection.close().catch(() => {}), session.consumeConnection.close().catch(() => {})]);
    }
    await this.admin?.close().catch(() => {});
  }

  /** Marks a session over and fails each of its confirms that never came, exactly once. */
  private endSession(session: Session, why: 'closed' | 'reconnecting'): void {
    if (!session.ended) {
      session.ended = true;
      const failure: ConfirmFailure = 'cut-off';
      for (const settle of [...session.outstanding]) settle(failure);
    }
    if (why === 'reconnecting') {
      void session.publishConnection.close().catch(() => {});
      void session.consumeConnection.close().catch(() => {});
    }
  }

  private current(): Session {
    const session = this.session;
    if (!session || session.ended) throw new QscaleError('BROKER_UNREACHABLE', `lost the connection to the broker at ${this.endpoint}`);
    return session;
  }

  private async withChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
    const channel = await this.current().consumeConnection.createChannel();
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
