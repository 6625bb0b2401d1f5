import amqp from 'amqplib';
import { QscaleError } from '../../core/errors.js';
import type { BrokerAdmin, QueueStats } from '../../core/ports/broker.js';
import { maskUrlPasswords } from '../../core/secrets.js';

/**
 * Reads queue statistics: through the management API when a URL for it is configured (it knows
 * unacked counts), otherwise by passive declares over AMQP (ready and consumers only).
 */
export async function openBrokerAdmin(url: string, managementUrl?: string, options: { liveCounts?: boolean } = {}): Promise<BrokerAdmin> {
  const endpoint = maskUrlPasswords(url);
  if (managementUrl) {
    const management = new ManagementApiAdmin(endpoint, url, managementUrl);
    // Without the management plugin, fall back to what AMQP itself can tell.
    if (await management.answers()) {
      if (!options.liveCounts) return management;
      return new LiveCountsAdmin(management, new AmqpAdmin(endpoint, await connectAmqp(url)));
    }
  }
  const connection = await connectAmqp(url);
  return new AmqpAdmin(endpoint, connection);
}

export async function connectAmqp(url: string): Promise<amqp.ChannelModel> {
  try {
    const connection = await amqp.connect(url, { timeout: 5000 });
    connection.on('error', () => {});
    return connection;
  } catch (error) {
    throw brokerUnreachable(url, error);
  }
}

export function brokerUnreachable(url: string, error: unknown): QscaleError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error);
  return new QscaleError('BROKER_UNREACHABLE', `cannot reach the broker at ${maskUrlPasswords(url)} (${maskUrlPasswords(String(reason))})`, {
    hint: 'start it with `make setup`, or set broker.url in the config (or QSCALE_BROKER_URL)',
    cause: error,
  });
}

class AmqpAdmin implements BrokerAdmin {
  constructor(
    readonly endpoint: string,
    private readonly connection: amqp.ChannelModel,
  ) {}

  async queueStats(queues: string[]): Promise<Map<string, QueueStats | undefined>> {
    const result = new Map<string, QueueStats | undefined>();
    for (const queue of queues) {
      // A passive declare of a missing queue closes its channel: one channel per queue.
      const channel = await this.connection.createChannel();
      channel.on('error', () => {});
      try {
        const reply = await channel.checkQueue(queue);
        result.set(queue, { queue, ready: reply.messageCount, consumers: reply.consumerCount });
        await channel.close();
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
        result.set(queue, undefined);
      }
    }
    return result;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * The management API's counts lag by its statistics interval (5 s by default); the autoscaler
 * takes ready and consumer counts from AMQP, which are current, and the rest from the API.
 */
class LiveCountsAdmin implements BrokerAdmin {
  readonly endpoint: string;

  constructor(
    private readonly management: ManagementApiAdmin,
    private readonly amqpAdmin: AmqpAdmin,
  ) {
    this.endpoint = management.endpoint;
  }

  async queueStats(queues: string[]): Promise<Map<string, QueueStats | undefined>> {
    const [fromApi, live] = await Promise.all([this.management.queueStats(queues), this.amqpAdmin.queueStats(queues)]);
    return new Map(
      queues.map((queue) => {
        const counts = live.get(queue);
        const api = fromApi.get(queue);
        return [queue, counts && { ...api, ...counts }];
      }),
    );
  }

  async close(): Promise<void> {
    await this.amqpAdmin.close();
  }
}

class ManagementApiAdmin implements BrokerAdmin {
  private readonly vhost: string;
  private readonly authorization: string;
  private readonly baseUrl: string;

  constructor(
    readonly endpoint: string,
    amqpUrl: string,
    managementUrl: string,
  ) {
    const parsedAmqp = new URL(amqpUrl);
    const parsed = new URL(managementUrl);
    this.vhost = decodeURIComponent(parsedAmqp.pathname.replace(/^\//, '')) || '/';
    const user = decodeURIComponent(parsed.username || parsedAmqp.username || 'guest');
    const password = decodeURIComponent(parsed.password || parsedAmqp.password || 'guest');
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
    this.baseUrl = parsed.toString().replace(/\/$/, '');
  }

  async answers(): Promise<boolean> {
    try {
      const response = await fetch(`${this.baseUrl}/api/overview`, { headers: { authorization: this.authorization }, signal: AbortSignal.timeout(2000) });
      return response.ok;
    } catch {
      return false;
    }
  }

  async queueStats(queues: string[]): Promise<Map<string, QueueStats | undefined>> {
    const entries = await Promise.all(queues.map(async (queue) => [queue, await this.queue(queue)] as const));
    return new Map(entries);
  }

  private async queue(queue: string): Promise<QueueStats | undefined> {
    const url = `${this.baseUrl}/api/queues/${encodeURIComponent(this.vhost)}/${encodeURIComponent(queue)}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { authorization: this.authorization }, signal: AbortSignal.timeout(5000) });
    } catch (error) {
      throw new QscaleError('BROKER_UNREACHABLE', `cannot reach the management API at ${this.baseUrl} (${(error as Error).message})`);
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw new QscaleError('BROKER_FAILED', `management API answered ${response.status} for queue ${queue}`);
    const body = (await response.json()) as {
      messages_ready?: number;
      messages_unacknowledged?: number;
      consumers?: number;
      message_stats?: { publish_details?: { rate?: number }; ack_details?: { rate?: number } };
    };
    const stats = body.message_stats;
    return {
      queue,
      ready: body.messages_ready ?? 0,
      unacked: body.messages_unacknowledged ?? 0,
      consumers: body.consumers ?? 0,
      // No message_stats yet: nothing was published or acked since the queue was made.
      publishRate: stats?.publish_details?.rate ?? 0,
      ackRate: stats?.ack_details?.rate ?? 0,
    };
  }

  async close(): Promise<void> {}
}
