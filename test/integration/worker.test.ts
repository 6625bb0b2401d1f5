import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTEMPT_HEADER, deadLetterQueueOf, taskQueueArguments, type TaskMessage, type TaskResult } from '../../templates/worker/src/protocol.js';

/**
 * The worker image against the real engine and broker: containers on the host network talking to
 * 127.0.0.1:5672. Every name is unique to this run; afterAll removes the containers and queues.
 */
const execFileAsync = promisify(execFile);
const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
// QSCALE_WORKER_IMAGE (honoured by the build script too) lets a run use its own tag, leaving the shared one alone.
const IMAGE = process.env.QSCALE_WORKER_IMAGE ?? 'qscale/worker:local';
const RUN = `it-worker-${randomBytes(3).toString('hex')}`;
const queues = new Set<string>();

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

/** Starts a worker container as compose would (host network, init), returning its full id. */
async function startWorker(name: string, env: Record<string, string>): Promise<string> {
  const envArgs = Object.entries({ BROKER_URL, LOG_LEVEL: 'debug', ...env }).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  return docker('run', '-d', '--name', `${RUN}-${name}`, '--label', `qscale-it=${RUN}`, '--network', 'host', '--init', '--stop-timeout', '15', ...envArgs, IMAGE);
}

async function logsOf(id: string): Promise<string> {
  const { stdout, stderr } = await execFileAsync('docker', ['logs', id], { timeout: 30_000 });
  return stdout + stderr;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the worker has asserted its queue and consumes it. */
async function waitConsuming(id: string): Promise<void> {
  await waitFor(`container ${id.slice(0, 12)} to consume`, async () => (await logsOf(id)).includes('"msg":"consuming"'));
}

class Broker {
  private constructor(
    private connection: amqp.ChannelModel,
    private channel: amqp.ConfirmChannel,
  ) {}

  static async open(): Promise<Broker> {
    const connection = await amqp.connect(BROKER_URL);
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => {});
    return new Broker(connection, channel);
  }

  /** A task queue declared as workers declare it, plus its DLQ and a results queue. */
  async queuesFor(name: string): Promise<{ queue: string; results: string }> {
    const queue = `${RUN}.${name}`;
    const results = `${queue}.results`;
    for (const each of [queue, deadLetterQueueOf(queue), results]) queues.add(each);
    await this.channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
    await this.channel.assertQueue(deadLetterQueueOf(queue), { durable: true });
    await this.channel.assertQueue(results, { durable: true });
    return { queue, results };
  }

  async publishTasks(queue: string, results: string, tasks: Array<Partial<TaskMessage>>): Promise<string[]> {
    const ids: string[] = [];
    for (const [index, task] of tasks.entries()) {
      const message: TaskMessage = { id: `${queue}-${index}`, run: RUN, sentAt: Date.now(), ...task };
      ids.push(message.id);
      this.channel.sendToQueue(queue, Buffer.from(JSON.stringify(message)), { messageId: message.id, replyTo: results, persistent: true, contentType: 'application/json' });
    }
    await this.channel.waitForConfirms();
    return ids;
  }

  async publishRaw(queue: string, results: string, body: string, messageId: string): Promise<void> {
    this.channel.sendToQueue(queue, Buffer.from(body), { messageId, replyTo: results, persistent: true });
    await this.channel.waitForConfirms();
  }

  /** Collects every result published to the queue into the returned array, as it arrives. */
  async collect(results: string): Promise<TaskResult[]> {
    const received: TaskResult[] = [];
    await this.channel.consume(results, (message) => message && received.push(JSON.parse(message.content.toString())), { noAck: true });
    return received;
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  async getAll(queue: string): Promise<amqp.GetMessage[]> {
    const messages: amqp.GetMessage[] = [];
    for (let message = await this.channel.get(queue, { noAck: true }); message; message = await this.channel.get(queue, { noAck: true })) messages.push(message);
    return messages;
  }

  async deleteQueues(names: Iterable<string>): Promise<void> {
    for (const name of names) await this.channel.deleteQueue(name).catch(() => {});
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

const completed = (results: TaskResult[]) => results.filter((result) => result.outcome === 'completed');

function countBy(ids: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

let broker: Broker;

beforeAll(async () => {
  await execFileAsync('bash', ['scripts/build-worker-image.sh'], { timeout: 120_000 });
  broker = await Broker.open();
});

afterAll(async () => {
  const ids = await docker('ps', '-aq', '--filter', `label=qscale-it=${RUN}`);
  if (ids && !process.env.QSCALE_IT_KEEP) await docker('rm', '-f', ...ids.split('\n'));
  broker = await Broker.open().catch(() => broker);
  await broker.deleteQueues(queues);
  await broker.close();
});

describe('worker containers', () => {
  it('work tasks from worker-a and worker-b queues and send one completed result each', async () => {
    const a = await broker.queuesFor('a');
    const b = await broker.queuesFor('b');
    const [workerA, workerB] = await Promise.all([startWorker('worker-a-1', { QUEUE: a.queue }), startWorker('worker-b-1', { QUEUE: b.queue, TASK_MS: '5-20' })]);
    await Promise.all([waitConsuming(workerA), waitConsuming(workerB)]);
    const resultsA = await broker.collect(a.results);
    const resultsB = await broker.collect(b.results);
    const idsA = await broker.publishTasks(a.queue, a.results, Array.from({ length: 15 }, () => ({ workMs: 10 })));
    const idsB = await broker.publishTasks(b.queue, b.results, Array.from({ length: 15 }, () => ({})));

    await waitFor('30 results', () => resultsA.length + resultsB.length >= 30);
    expect(resultsA.map((result) => result.taskId).sort()).toEqual([...idsA].sort());
    expect(resultsB.map((result) => result.taskId).sort()).toEqual([...idsB].sort());
    // workerId is the short container id, read from /proc/self/mountinfo (the hostname is the host's).
    expect(new Set(resultsA.map((result) => result.workerId))).toEqual(new Set([workerA.slice(0, 12)]));
    expect(new Set(resultsB.map((result) => result.workerId))).toEqual(new Set([workerB.slice(0, 12)]));
    expect(resultsA.every((result) => result.outcome === 'completed' && result.queue === a.queue && result.run === RUN && result.attempt === 1)).toBe(true);
    const logs = await logsOf(workerA);
    expect(logs).toContain('"msg":"task"');
    expect(logs).toContain('amqp://guest:***@127.0.0.1:5672');
    expect(logs).not.toContain('guest:guest');
  });

  it('loses and duplicates nothing when a worker is stopped (SIGTERM) mid-load, and exits 0 inside the grace period', async () => {
    const { queue, results } = await broker.queuesFor('sigterm');
    const first = await startWorker('sigterm-1', { QUEUE: queue, PREFETCH: '10' });
    const second = await startWorker('sigterm-2', { QUEUE: queue, PREFETCH: '10' });
    await Promise.all([waitConsuming(first), waitConsuming(second)]);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 60 }, () => ({ workMs: 100 })));

    await waitFor('work under way', () => received.some((result) => result.workerId === first.slice(0, 12)));
    const stoppedAt = Date.now();
    await docker('stop', '-t', '15', first);
    const stopMs = Date.now() - stoppedAt;
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', first)).toBe('0');
    expect(stopMs).toBeLessThan(5_000);
    expect(await logsOf(first)).toContain('"msg":"drained"');

    await waitFor('every task completed', () => new Set(completed(received).map((result) => result.taskId)).size === ids.length, 40_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would arrive about now
    const counts = countBy(completed(received).map((result) => result.taskId));
    const duplicated = completed(received).filter((result) => (counts.get(result.taskId) ?? 0) > 1);
    expect(duplicated).toEqual([]);
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    expect(received.filter((result) => result.workerId === first.slice(0, 12)).length).toBeGreaterThan(0);
    expect(await broker.messageCount(queue)).toBe(0);
  });

  it('acks every confirmed result before exiting when stopped mid-stream of no-op tasks (confirms still pending at SIGTERM)', async () => {
    const { queue, results } = await broker.queuesFor('sigterm-noop');
    const first = await startWorker('sigterm-noop-1', { QUEUE: queue, PREFETCH: '50', TASK_MS: '0', LOG_LEVEL: 'info' });
    const second = await startWorker('sigterm-noop-2', { QUEUE: queue, PREFETCH: '50', TASK_MS: '0', LOG_LEVEL: 'info' });
    await Promise.all([waitConsuming(first), waitConsuming(second)]);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 4_000 }, () => ({ workMs: 0 })));

    await waitFor('work under way', () => received.filter((result) => result.workerId === first.slice(0, 12)).length >= 200);
    await docker('stop', '-t', '15', first);
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', first)).toBe('0');

    await waitFor('every task completed', () => new Set(completed(received).map((result) => result.taskId)).size === ids.length, 40_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would arrive about now
    const counts = countBy(completed(received).map((result) => result.taskId));
    expect(completed(received).filter((result) => (counts.get(result.taskId) ?? 0) > 1)).toEqual([]);
    expect(counts.size).toBe(ids.length);
    expect(await broker.messageCount(queue)).toBe(0);
  });

  it('redelivers, never loses, the tasks of a worker killed (SIGKILL) mid-load', async () => {
    const { queue, results } = await broker.queuesFor('sigkill');
    const victim = await startWorker('sigkill-1', { QUEUE: queue, PREFETCH: '10' });
    const survivor = await startWorker('sigkill-2', { QUEUE: queue, PREFETCH: '10' });
    await Promise.all([waitConsuming(victim), waitConsuming(survivor)]);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 40 }, () => ({ workMs: 150 })));

    await waitFor('the victim at work', () => received.some((result) => result.workerId === victim.slice(0, 12)));
    await docker('kill', '-s', 'KILL', victim);

    await waitFor('every task completed at least once', () => new Set(completed(received).map((result) => result.taskId)).size === ids.length, 40_000);
    expect([...new Set(completed(received).map((result) => result.taskId))].sort()).toEqual([...ids].sort());
    const redelivered = received.filter((result) => result.redelivered);
    expect(redelivered.length).toBeGreaterThan(0);
    expect(redelivered.every((result) => result.workerId === survivor.slice(0, 12))).toBe(true);
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', victim)).toBe('137');
  });

  it('retries a failing task up to MAX_ATTEMPTS, then dead-letters it to <queue>.dlq; a malformed message too', async () => {
    const { queue, results } = await broker.queuesFor('failing');
    const worker = await startWorker('failing-1', { QUEUE: queue, MAX_ATTEMPTS: '3', TASK_MS: '5' });
    await waitConsuming(worker);
    const received = await broker.collect(results);
    const [id] = await broker.publishTasks(queue, results, [{ failRate: 1 }]);
    await broker.publishRaw(queue, results, 'this is not json', 'malformed-1');

    await waitFor('the task dead-lettered', () => received.filter((result) => result.outcome === 'dead-lettered').length === 2);
    const attempts = received.filter((result) => result.taskId === id).map((result) => [result.attempt, result.outcome]);
    expect(attempts).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'dead-lettered'],
    ]);
    expect(received.find((result) => result.taskId === 'malformed-1')).toMatchObject({ outcome: 'dead-lettered', error: expect.stringContaining('malformed') });
    await waitFor('two messages in the DLQ', async () => (await broker.messageCount(deadLetterQueueOf(queue))) === 2, 10_000);
    const dead = await broker.getAll(deadLetterQueueOf(queue));
    expect(dead.map((message) => message.properties.messageId).sort()).toEqual([id, 'malformed-1'].sort());
    expect(dead.find((message) => message.properties.messageId === id)?.properties.headers?.[ATTEMPT_HEADER]).toBe(3);
    expect(await broker.messageCount(queue)).toBe(0);
  });

  it('survives a broker restart: reconnects, re-asserts its queue, goes on consuming', async () => {
    const { queue, results } = await broker.queuesFor('restart');
    const worker = await startWorker('restart-1', { QUEUE: queue, TASK_MS: '5' });
    await waitConsuming(worker);
    const before = await broker.collect(results);
    await broker.publishTasks(queue, results, Array.from({ length: 5 }, () => ({})));
    await waitFor('results before the restart', () => before.length === 5);

    await broker.close();
    await execFileAsync('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    await execFileAsync('rabbitmqctl', ['start_app'], { timeout: 60_000 });
    await waitFor('the worker to consume again', async () => (await logsOf(worker)).split('"msg":"consuming"').length - 1 >= 2, 30_000);

    broker = await Broker.open();
    const after = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 10 }, () => ({})));
    await waitFor('results after the restart', () => completed(after).length >= 10, 20_000);
    expect([...new Set(completed(after).map((result) => result.taskId))].sort()).toEqual([...ids].sort());
    expect(await docker('inspect', '-f', '{{.State.Running}}', worker)).toBe('true');
    expect(await logsOf(worker)).toContain('lost the broker connection; reconnecting');
  });
});
