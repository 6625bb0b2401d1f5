import { spawn, type ChildProcess } from 'node:child_process';
import amqp from 'amqplib';
import { expect } from 'vitest';
import { deadLetterQueueOf, quarantineQueueOf, taskQueueArguments, type QueueType, type TaskMessage, type TaskResult } from '../../../templates/worker/src/protocol.js';
import { RESULTS_QUEUE_ARGUMENTS } from '../../../templates/worker/src/worker.js';
import { brokerQueueCounts, CHAOS_BROKER_URL } from './chaos-broker.js';

/**
 * A chaos test's own producer and result collector on the chaos broker (amqplib directly, never a
 * connection a fault closes). Every result message is kept as it came, so duplicates are counted
 * against the raw number of result messages, not inferred.
 */
export class TaskLedger {
  /** Every result message, in arrival order. */
  readonly results: TaskResult[] = [];
  /** Ids of every task published and confirmed by the broker. */
  readonly ids: string[] = [];

  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
    readonly resultsQueue: string,
  ) {}

  /** Declares the task queues (as workers declare them) and the results queue, and starts collecting. */
  static async open(resultsQueue: string, taskQueues: Array<{ name: string; type?: QueueType }>): Promise<TaskLedger> {
    const connection = await amqp.connect(CHAOS_BROKER_URL);
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    for (const { name, type } of taskQueues) await channel.assertQueue(name, { durable: true, arguments: taskQueueArguments(name, type) });
    // As the workers declare it, so their own declaration is no refused redeclare.
    await channel.assertQueue(resultsQueue, { durable: true, arguments: RESULTS_QUEUE_ARGUMENTS });
    const ledger = new TaskLedger(connection, channel, resultsQueue);
    await channel.consume(resultsQueue, (message) => message && ledger.results.push(JSON.parse(message.content.toString()) as TaskResult), { noAck: true });
    return ledger;
  }

  /** Publishes `count` tasks with ids `<prefix>-<n>` (n from `from`) and waits for the broker's confirms. */
  async publish(queue: string, prefix: string, count: number, task: Partial<TaskMessage> = {}, from = 0): Promise<void> {
    for (let index = from; index < from + count; index++) {
      const message: TaskMessage = { id: `${prefix}-${index}`, sentAt: Date.now(), ...task };
      this.channel.sendToQueue(queue, Buffer.from(JSON.stringify(message)), { messageId: message.id, replyTo: this.resultsQueue, persistent: true });
      this.ids.push(message.id);
    }
    await this.channel.waitForConfirms();
  }

  of(prefix: string, outcome?: TaskResult['outcome']): TaskResult[] {
    return this.results.filter((result) => result.taskId.startsWith(prefix) && (outcome === undefined || result.outcome === outcome));
  }

  /**
   * The fate of the tasks whose id starts with `prefix`: completed (distinct), completed results
   * (raw), duplicates = raw − distinct, dead-lettered, lost = sent with neither outcome.
   */
  counts(prefix: string): { sent: number; completed: number; completedResults: number; duplicates: number; deadLettered: number; lost: number; redelivered: number } {
    const ids = this.ids.filter((id) => id.startsWith(prefix));
    const completed = this.of(prefix, 'completed');
    const completedIds = new Set(completed.map((result) => result.taskId));
    const deadLetteredIds = new Set(this.of(prefix, 'dead-lettered').map((result) => result.taskId));
    return {
      sent: ids.length,
      completed: completedIds.size,
      completedResults: completed.length,
      duplicates: completed.length - completedIds.size,
      deadLettered: deadLetteredIds.size,
      lost: ids.filter((id) => !completedIds.has(id) && !deadLetteredIds.has(id)).length,
      redelivered: completed.filter((result) => result.redelivered).length,
    };
  }

  /** Takes every message off `queue` (e.g. a DLQ, after its count was checked) and returns their headers. */
  async drainHeaders(queue: string): Promise<Array<Record<string, unknown>>> {
    const headers: Array<Record<string, unknown>> = [];
    for (let message = await this.channel.get(queue, { noAck: true }); message; message = await this.channel.get(queue, { noAck: true })) headers.push(message.properties.headers ?? {});
    return headers;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
  return Date.now() - startedAt;
}

/** One container's stop as the engine told it: the SIGTERM (kill signal 15) and its death. */
export interface ContainerStop {
  name: string;
  /** Its 12-hex short id, as in TaskResult.workerId. */
  id: string;
  exitCode: number;
  /** ms from the engine's SIGTERM to the container's death; undefined when no SIGTERM was seen (a crash). */
  stopMs?: number;
}

/**
 * Follows `docker events` for containers carrying `label` (e.g. com.docker.compose.project=x):
 * each death with its exit code and the time since its SIGTERM. Removed containers can no longer
 * be inspected, so their exit codes are taken here, as the engine reports them.
 */
export function watchContainerStops(label: string): { stops: ContainerStop[]; stop: () => void } {
  const stops: ContainerStop[] = [];
  const terminatedAt = new Map<string, number>();
  const events: ChildProcess = spawn('docker', ['events', '--filter', `label=${label}`, '--filter', 'type=container', '--filter', 'event=kill', '--filter', 'event=die', '--format', '{{.Action}} {{.TimeNano}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "signal"}}{{index .Actor.Attributes "exitCode"}}']);
  let pending = '';
  events.stdout?.setEncoding('utf8');
  events.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const [action, nanos, id, name, value] = line.split(' ');
      const atMs = Number(BigInt(nanos) / 1_000_000n);
      if (action === 'kill' && value === '15') terminatedAt.set(name, atMs);
      if (action === 'die') {
        const since = terminatedAt.get(name);
        terminatedAt.delete(name);
        stops.push({ name, id: id.slice(0, 12), exitCode: Number(value), stopMs: since === undefined ? undefined : atMs - since });
      }
    }
  });
  return { stops, stop: () => events.kill() };
}

/** The broker's own account at the end: the task queue and its quarantine queue empty (0 ready, 0 unacked), and the DLQ holding `deadLettered`. */
export async function expectBrokerSettled(queue: string, deadLettered: number): Promise<void> {
  await waitFor(`${queue} to be empty`, async () => {
    const counts = await brokerQueueCounts(queue);
    return counts?.ready === 0 && counts.unacked === 0;
  }, 30_000);
  const [task, quarantine, dlq] = await Promise.all([queue, quarantineQueueOf(queue), deadLetterQueueOf(queue)].map((name) => brokerQueueCounts(name)));
  expect({
    task: [task?.ready ?? 0, task?.unacked ?? 0],
    quarantine: [quarantine?.ready ?? 0, quarantine?.unacked ?? 0],
    dlq: (dlq?.ready ?? 0) + (dlq?.unacked ?? 0),
  }).toEqual({ task: [0, 0], quarantine: [0, 0], dlq: deadLettered });
}
