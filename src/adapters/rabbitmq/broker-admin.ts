import amqp from 'amqplib';
import { QscaleError } from '../../core/errors.js';
import type { BrokerAdmin, QueueStats } from '../../core/ports/broker.js';
import { maskUrlPasswords } from '../../core/secrets.js';

/**
 * Reads queue statistics: through the management API when a URL for it is configured (it knows
 * unacked counts) with ready and consumer counts from AMQP, which are current (the API's lag by
 * its statistics interval); otherwise by passive declares over AMQP alone (ready and consumers).
 * What one side could not tell is said in `notes`; with `liveCounts` (the autoscaler) AMQP is
 * required. A vhost the broker lacks, refused credentials or no broker at all are errors naming
 * the broker.
 */
export async function openBrokerAdmin(url: string, managementUrl?: string, options: { liveCounts?: boolean } = {}): Promise<BrokerAdmin> {
  const endpoint = maskUrlPasswords(url);
  const notes: string[] = [];
  if (managementUrl) {
    const management = new ManagementApiAdmin(endpoint, url, managementUrl);
    const answer = await management.answers();
    if (answer === 'ok') {
      await management.checkVhost();
      let connection: amqp.ChannelModel;
      try {
        connection = await connectAmqp(url);
      } catch (error) {
        if (options.liveCounts) throw error;
        management.notes = [`figures from the management API alone (up to 5 s old): ${(error as Error).message}`];
        return management;
      }
      return new LiveCountsAdmin(management, new AmqpAdmin(endpoint, connection));
    }
    // Without the management plugin, fall back to what AMQP itself can tell.
    notes.push(`no unacked counts or rates: ${answer}`);
  }
  const connection = await connectAmqp(url);
  return new AmqpAdmin(endpoint, connection, notes);
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

/** A failed AMQP connection as one line naming the broker: refused credentials, a missing vhost, or no broker there. */
export function brokerUnreachable(url: string, error: unknown): QscaleError {
  const endpoint = maskUrlPasswords(url);
  const message = (error as Error)?.message ?? String(error);
  const { user, vhost } = amqpIdentity(url);
  if (/ACCESS[-_]REFUSED/.test(message)) {
    return new QscaleError('BROKER_FAILED', `the broker at ${endpoint} refused the credentials of user "${user}" (ACCESS_REFUSED)`, {
      hint: 'check the user and password in broker.url (or QSCALE_BROKER_URL)',
      cause: error,
    });
  }
  // amqplib reports the broker's refusal to open a vhost only as this; the broker's reason is "vhost not found" or "access refused".
  if (/Expected ConnectionOpenOk/.test(message) || /NOT_ALLOWED/.test(message)) {
    return new QscaleError('BROKER_FAILED', `the broker at ${endpoint} would not open vhost "${vhost}": it does not exist, or user "${user}" may not use it`, {
      hint: `create it (rabbitmqctl add_vhost ${vhost}) or fix the vhost at the end of broker.url`,
      cause: error,
    });
  }
  const reason = (error as NodeJS.ErrnoException).code ?? message;
  return new QscaleError('BROKER_UNREACHABLE', `cannot reach the broker at ${endpoint} (${maskUrlPasswords(String(reason))})`, {
    hint: 'start it with `make setup`, or set broker.url in the config (or QSCALE_BROKER_URL)',
    cause: error,
  });
}

function amqpIdentity(url: string): { user: string; vhost: string } {
  try {
    const parsed = new URL(url);
    return { user: decodeURIComponent(parsed.username || 'guest'), vhost: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '/' };
  } catch {
    return { user: 'guest', vhost: '/' };
  }
}

class AmqpAdmin implements BrokerAdmin {
  constructor(
    readonly endpoint: string,
    private readonly connection: amqp.ChannelModel,
    readonly notes: readonly string[] = [],
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
  readonly notes: readonly string[] = [];

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
  notes: readonly string[] = [];
  private readonly vhost: string;
  private readonly authorization: string;
  private readonly baseUrl: string;
  private readonly user: string;

  constructor(
    readonly endpoint: string,
    amqpUrl: string,
    managementUrl: string,
  ) {
    const parsedAmqp = new URL(amqpUrl);
    const parsed = new URL(managementUrl);
    this.vhost = decodeURIComponent(parsedAmqp.pathname.replace(/^\//, '')) || '/';
    this.user = decodeURIComponent(parsed.username || parsedAmqp.username || 'guest');
    const password = decodeURIComponent(parsed.password || parsedAmqp.password || 'guest');
    this.authorization = `Basic ${Buffer.from(`${this.user}:${password}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
    this.baseUrl = parsed.toString().replace(/\/$/, '');
  }

  /** 'ok', or why the API cannot be used (one phrase naming it). */
  async answers(): Promise<'ok' | string> {
    try {
      const response = await fetch(`${this.baseUrl}/api/overview`, { headers: { authorization: this.authorization }, signal: AbortSignal.timeout(2000) });
      if (response.ok) return 'ok';
      if (response.status === 401) return `the management API at ${this.baseUrl} refused the credentials of user "${this.user}" (401)`;
      return `the management API at ${this.baseUrl} answered ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
      return `the management API at ${this.baseUrl} did not answer (${cause?.code ?? (error as Error).message})`;
    }
  }

  /** The API answers 404 for every queue of a vhost that does not exist: say which it is instead. */
  async checkVhost(): Promise<void> {
    const response = await fetch(`${this.baseUrl}/api/vhosts/${encodeURIComponent(this.vhost)}`, { headers: { authorization: this.authorization }, signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (response?.status === 404) {
      throw new QscaleError('BROKER_FAILED', `the broker at ${this.endpoint} has no vhost "${this.vhost}"`, {
        hint: `create it (rabbitmqctl add_vhost ${this.vhost}) or fix the vhost at the end of broker.url`,
      });
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
