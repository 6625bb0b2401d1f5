import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueOf, quarantineQueueOf, taskQueueArguments, type TaskMessage, type TaskResult } from '../../templates/worker/src/protocol.js';
import { brokerQueueCounts, CHAOS_BROKER_URL, CHAOS_MANAGEMENT_URL, closeConnections, deleteQueues, rabbitmqctl, recordFault } from './support/chaos-broker.js';

/**
 * Workers under faults (broker-faults issue, rows "connections force-closed" and "worker paused"):
 * worker containers on the chaos broker, tasks published and results collected by a small ledger
 * of this test's own (amqplib directly), every figure cross-checked against the broker.
 */
const execFileAsync = promisify(execFile);
const IMAGE = process.env.QSCALE_WORKER_IMAGE ?? 'qscale/worker:local';
const RUN = `chaos-worker-${randomBytes(3).toString('hex')}`;
const queues: string[] = [];

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

async function startWorker(name: string, env: Record<string, string>): Promise<string> {
  const envArgs = Object.entries({ BROKER_URL: CHAOS_BROKER_URL, LOG_LEVEL: 'info', ...env }).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  return docker('run', '-d', '--name', `${RUN}-${name}`, '--label', `qscale-chaos=${RUN}`, '--network', 'host', '--init', '--stop-timeout', '15', ...envArgs, IMAGE);
}

async function logsOf(id: string): Promise<string> {
  const { stdout, stderr } = await execFileAsync('docker', ['logs', id], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout + stderr;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
  return Date.now() - startedAt;
}

/** Consumers of the task queue and of its quarantine queue, as the broker counts them. */
async function consumersOf(queue: string): Promise<[number, number]> {
  // One rabbitmqctl call for both (each call starts an Erlang VM: about 0.7 s).
  const lines = (await rabbitmqctl('list_queues', 'name', 'consumers')).split('\n').map((line) => line.split('\t'));
  const count = (name: string) => Number(lines.find(([each]) => each === name)?.[1] ?? 0);
  return [count(queue), count(quarantineQueueOf(queue))];
}

/** The broker's ids (pids) of the worker connections of a queue, named by the worker (`qscale-worker <id> <queue>`). */
async function workerConnections(queue: string): Promise<Set<string>> {
  const lines = (await rabbitmqctl('list_connections', 'pid', 'client_properties')).split('\n');
  return new Set(lines.filter((line) => line.includes(`qscale-worker `) && line.includes(` ${queue}"`)).map((line) => line.split('\t')[0]));
}

/** How many messages the broker says were published to a queue (management API; its stats lag by seconds). */
async function publishedTo(queue: string): Promise<number> {
  const response = await fetch(`${CHAOS_MANAGEMENT_URL}/api/queues/%2F/${encodeURIComponent(queue)}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const body = (await response.json()) as { message_stats?: { publish?: number } };
  return body.message_stats?.publish ?? 0;
}

/** Publishes a run's tasks and records every result message; its connection is never one the faults close. */
class Ledger {
  readonly results: TaskResult[] = [];
  ids: string[] = [];

  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
    readonly queue: string,
    readonly resultsQueue: string,
  ) {}

  static async open(name: string): Promise<Ledger> {
    const connection = await amqp.connect(CHAOS_BROKER_URL);
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    const queue = `${RUN}.${name}`;
    const resultsQueue = `${queue}.results`;
    queues.push(queue, quarantineQueueOf(queue), deadLetterQueueOf(queue), resultsQueue);
    await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
    await channel.assertQueue(resultsQueue, { durable: true });
    const ledger = new Ledger(connection, channel, queue, resultsQueue);
    await channel.consume(resultsQueue, (message) => message && ledger.results.push(JSON.parse(message.content.toString()) as TaskResult), { noAck: true });
    return ledger;
  }

  async publish(count: number, task: Partial<TaskMessage>): Promise<void> {
    for (let index = 0; index < count; index++) {
      const message: TaskMessage = { id: `${this.queue}-${index}`, run: RUN, sentAt: Date.now(), ...task };
      this.ids.push(message.id);
      this.channel.sendToQueue(this.queue, Buffer.from(JSON.stringify(message)), { messageId: message.id, replyTo: this.resultsQueue, persistent: true });
    }
    await this.channel.waitForConfirms();
  }

  get completedIds(): Set<string> {
    return new Set(this.results.filter((result) => result.outcome === 'completed').map((result) => result.taskId));
  }

  /** Completed results beyond the first of each task. */
  get duplicates(): number {
    return this.results.filter((result) => result.outcome === 'completed').length - this.completedIds.size;
  }

  get lost(): string[] {
    const done = this.completedIds;
    return this.ids.filter((id) => !done.has(id));
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

/** The broker holds nothing of the run: task queue and quarantine empty, 0 unacked; the DLQ empty (no innocent dead-lettered). */
async function expectBrokerEmpty(queue: string): Promise<void> {
  for (const name of [queue, quarantineQueueOf(queue), deadLetterQueueOf(queue)]) {
    expect(await brokerQueueCounts(name), name).toMatchObject({ ready: 0, unacked: 0 });
  }
}

/** The raw count of result messages, as the broker counted them, equals what the ledger received: duplicates are counted exactly. */
async function expectResultsCountedByBroker(ledger: Ledger): Promise<void> {
  await waitFor('the broker stats to catch up', async () => (await publishedTo(ledger.resultsQueue)) === ledger.results.length, 20_000);
}

beforeAll(async () => {
  await execFileAsync('bash', ['scripts/build-worker-image.sh'], { timeout: 120_000 });
});

afterAll(async () => {
  const ids = await docker('ps', '-aq', '--filter', `label=qscale-chaos=${RUN}`);
  if (ids && !process.env.QSCALE_IT_KEEP) await docker('rm', '-f', ...ids.split('\n'));
  await deleteQueues(...queues);
});

describe('workers under broker faults', () => {
  it('every worker connection force-closed 10 times during 2,000 tasks: consumers back ≤ 5 s each time, 0 lost, no unknown delivery tag', async () => {
    const ledger = await Ledger.open('closed');
    const workerCount = 3;
    const workers = await Promise.all(Array.from({ length: workerCount }, (_, index) => startWorker(`closed-${index + 1}`, { QUEUE: ledger.queue, PREFETCH: '10', TASK_MS: '0' })));
    await waitFor('the workers to consume', async () => (await consumersOf(ledger.queue)).every((count) => count === workerCount), 30_000);
    await ledger.publish(2_000, { workMs: 60 });

    const recoveries: number[] = [];
    const completedBefore: number[] = [];
    let before = await workerConnections(ledger.queue);
    for (let round = 0; round < 10; round++) {
      await sleep(300);
      expect(before.size, `round ${round + 1}`).toBe(workerCount);
      completedBefore.push(ledger.completedIds.size);
      const closed = await closeConnections(new RegExp(`qscale-worker \\w+ ${ledger.queue.replace(/\./g, '\\.')}"`), `chaos round ${round + 1}`);
      expect(closed, `round ${round + 1}`).toBe(workerCount);
      // Back: as many worker connections as workers, none of them a closed one, and all consuming both queues.
      recoveries.push(
        await waitFor(
          `consumers back after round ${round + 1}`,
          async () => {
            const [now, consumers] = await Promise.all([workerConnections(ledger.queue), consumersOf(ledger.queue)]);
            const back = now.size === workerCount && [...now].every((pid) => !before.has(pid)) && consumers.every((count) => count === workerCount);
            if (back) before = now;
            return back;
          },
          10_000,
        ),
      );
    }
    await waitFor('every task completed', () => ledger.lost.length === 0, 90_000);
    await waitFor('the queues empty', async () => (await brokerQueueCounts(ledger.queue))?.ready === 0 && (await brokerQueueCounts(quarantineQueueOf(ledger.queue)))?.ready === 0, 10_000);
    await sleep(1_000); // late duplicates arrive about now
    await expectResultsCountedByBroker(ledger);

    const logs = (await Promise.all(workers.map(logsOf))).join('\n');
    const reconnects = logs.split('lost the broker connection; reconnecting').length - 1;
    recordFault({
      fault: 'worker connections force-closed ×10',
      sent: ledger.ids.length,
      lost: ledger.lost.length,
      unconfirmed: 0,
      recovered: 0,
      duplicates: ledger.duplicates,
      recoverySeconds: Math.max(...recoveries) / 1000,
      note: `${workerCount} workers; ${completedBefore.at(-1)} completed before the last close; ${reconnects} reconnects`,
    });
    expect(Math.max(...recoveries)).toBeLessThanOrEqual(5_000);
    // The faults hit workers with tasks to do: at least 8 of the 10 rounds came before the last task was done.
    expect(completedBefore[7]).toBeLessThan(ledger.ids.length);
    expect(ledger.lost).toEqual([]);
    expect(ledger.results.filter((result) => result.outcome !== 'completed')).toEqual([]);
    expect(logs).not.toMatch(/unknown delivery tag/i);
    expect(reconnects).toBeGreaterThanOrEqual(10 * workerCount);
    await expectBrokerEmpty(ledger.queue);
    await ledger.close();
  });

  it('one worker paused 20 s with heartbeat=5: 0 lost, duplicates counted exactly, consuming again ≤ 10 s after unpause, SIGTERM exits 0 later', async () => {
    const ledger = await Ledger.open('paused');
    const env = { QUEUE: ledger.queue, PREFETCH: '10', BROKER_URL: `${CHAOS_BROKER_URL}?heartbeat=5` };
    const [frozen, other] = await Promise.all([startWorker('paused-1', env), startWorker('paused-2', env)]);
    const frozenId = frozen.slice(0, 12);
    await waitFor('the workers to consume', async () => (await consumersOf(ledger.queue)).every((count) => count === 2), 30_000);
    await ledger.publish(2_000, { workMs: 15 });

    await waitFor('the frozen worker at work', () => ledger.results.some((result) => result.workerId === frozenId), 10_000);
    await docker('pause', frozen);
    await sleep(20_000);
    // The broker gave up on it after two missed heartbeats and requeued what it held.
    expect((await consumersOf(ledger.queue))[0]).toBe(1);
    await docker('unpause', frozen);
    const backMs = await waitFor('the frozen worker consuming again', async () => (await consumersOf(ledger.queue)).every((count) => count === 2), 15_000);
    const resultsAfterUnpause = ledger.results.length;
    await waitFor('the unpaused worker completing tasks again', () => ledger.results.slice(resultsAfterUnpause).some((result) => result.workerId === frozenId), 15_000);

    const stoppedAt = Date.now();
    await docker('stop', '-t', '15', frozen);
    const stopMs = Date.now() - stoppedAt;
    const exitCode = await docker('inspect', '-f', '{{.State.ExitCode}}', frozen);

    await waitFor('every task completed', () => ledger.lost.length === 0, 90_000);
    await waitFor('the queues empty', async () => (await brokerQueueCounts(ledger.queue))?.ready === 0 && (await brokerQueueCounts(quarantineQueueOf(ledger.queue)))?.ready === 0, 10_000);
    await sleep(1_000);
    await expectResultsCountedByBroker(ledger);
    await docker('stop', '-t', '15', other);

    recordFault({
      fault: 'one worker paused 20 s (heartbeat 5 s)',
      sent: ledger.ids.length,
      lost: ledger.lost.length,
      unconfirmed: 0,
      recovered: 0,
      duplicates: ledger.duplicates,
      recoverySeconds: backMs / 1000,
      note: `SIGTERM after: exit ${exitCode} in ${(stopMs / 1000).toFixed(1)} s`,
    });
    expect(backMs).toBeLessThanOrEqual(10_000);
    expect(ledger.lost).toEqual([]);
    // A paused worker holds at most its prefetch (10) plus one quarantined task: only those can be done twice.
    expect(ledger.duplicates).toBeLessThanOrEqual(11);
    expect(exitCode).toBe('0');
    expect(stopMs).toBeLessThan(15_000);
    expect(await logsOf(frozen)).toContain('lost the broker connection; reconnecting');
    await expectBrokerEmpty(ledger.queue);
    await ledger.close();
  });
});
