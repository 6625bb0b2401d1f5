import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { CONTROL_EXCHANGE, type ControlMessage, type WorkerStateReport } from '../../../templates/worker/src/protocol.js';
import type { WorkerState, WorkerStateProbe, WorkerStateSnapshot } from '../../core/ports/worker-state.js';
import { maskUrlPasswords } from '../../core/secrets.js';

export interface WorkerStateProbeOptions {
  /** How long to wait for answers when not every container answered. */
  waitMs: number;
  /**
   * With no answer at all by then, nobody is going to answer (the containers are no qscale
   * workers, or not connected): stop waiting. A worker answers in a few ms, ~50 ms under load.
   */
  firstAnswerMs: number;
  connectTimeoutMs: number;
}

const DEFAULT_OPTIONS: WorkerStateProbeOptions = { waitMs: 300, firstAnswerMs: 100, connectTimeoutMs: 2000 };

/** A short container id (12 hex) is a prefix of the full one; anything shorter could match by chance. */
const MIN_WORKER_ID_LENGTH = 12;

/**
 * Asks every worker what it is doing with one `report-state` on the control exchange (fanout), and
 * collects the answers on a reply queue of its own until every asked container answered or
 * `waitMs` passed. One connection per probe, closed at once: one round trip per scale-in.
 *
 * The reply queue is a server-named exclusive queue rather than RabbitMQ's direct reply-to
 * (`amq.rabbitmq.reply-to`): the worker replies to the `replyTo` named in the message body, and
 * direct reply-to only works through the message property the broker rewrites.
 */
export class RabbitWorkerStateProbe implements WorkerStateProbe {
  private readonly options: WorkerStateProbeOptions;

  constructor(
    private readonly url: string,
    options: Partial<WorkerStateProbeOptions> = {},
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  async probe(containerIds: readonly string[], signal?: AbortSignal): Promise<WorkerStateSnapshot> {
    const states = new Map<string, WorkerState>();
    if (containerIds.length === 0) return { states };
    let connection: amqp.ChannelModel;
    try {
      connection = await amqp.connect(this.url, { timeout: this.options.connectTimeoutMs });
    } catch (error) {
      return { states, problem: `broker unreachable at ${maskUrlPasswords(this.url)}: ${reasonOf(error)}` };
    }
    connection.on('error', () => {});
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      const requestId = randomUUID();
      let answeredAll: () => void = () => {};
      const allAnswered = new Promise<void>((resolve) => (answeredAll = resolve));
      const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.consume(
        replyQueue,
        (message) => {
          const report = message && reportOf(message.content, requestId);
          if (!report) return;
          const id = containerIds.find((candidate) => candidate.startsWith(report.workerId));
          if (!id) return;
          states.set(id, { working: report.working, held: report.held, draining: report.draining });
          if (states.size === containerIds.length) answeredAll();
        },
        { noAck: true },
      );
      // Workers declare the exchange too; declaring it here keeps a publish before any worker ran from closing the channel.
      await channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
      const question: ControlMessage = { type: 'report-state', requestId, replyTo: replyQueue };
      channel.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(question)), { contentType: 'application/json' });
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => answeredAll();
      signal?.addEventListener('abort', onAbort, { once: true });
      const silence = setTimeout(() => states.size === 0 && answeredAll(), this.options.firstAnswerMs);
      await Promise.race([allAnswered, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.waitMs)))]);
      clearTimeout(timer);
      clearTimeout(silence);
      signal?.removeEventListener('abort', onAbort);
      return { states: new Map(states) };
    } catch (error) {
      return { states: new Map(states), problem: `asking the workers failed: ${reasonOf(error)}` };
    } finally {
      await connection.close().catch(() => {});
    }
  }
}

function reportOf(body: Buffer, requestId: string): WorkerStateReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const report = value as Partial<WorkerStateReport> | null;
  if (!report || report.type !== 'worker-state' || report.requestId !== requestId) return undefined;
  if (typeof report.workerId !== 'string' || report.workerId.length < MIN_WORKER_ID_LENGTH || !/^[0-9a-f]+$/.test(report.workerId)) return undefined;
  if (typeof report.working !== 'number' || typeof report.held !== 'number') return undefined;
  return { ...report, draining: report.draining === true } as WorkerStateReport;
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return maskUrlPasswords(code ?? (error instanceof Error ? error.message : String(error)));
}
