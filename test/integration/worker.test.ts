import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTHCHECK_SCRIPT } from '../../templates/worker/src/heartbeat.js';
import {
  ABANDONED_HEADER,
  ATTEMPT_HEADER,
  CONTROL_EXCHANGE,
  DEAD_LETTER_REASON_HEADER,
  deadLetterQueueOf,
  quarantineQueueOf,
  taskQueueArguments,
  type ControlMessage,
  type TaskMessage,
  type TaskResult,
  type WorkerStateReport,
} from '../../templates/worker/src/protocol.js';

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
async function startWorker(name: string, env: Record<string, string>, dockerArgs: string[] = []): Promise<string> {
  const envArgs = Object.entries({ BROKER_URL, LOG_LEVEL: 'debug', ...env }).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  return docker('run', '-d', '--name', `${RUN}-${name}`, '--label', `qscale-it=${RUN}`, '--network', 'host', '--init', '--stop-timeout', '15', ...dockerArgs, ...envArgs, IMAGE);
}

/**
 * Like startWorker, with the compose template's healthcheck, in exec form (the image has no shell,
 * and `docker run --health-cmd` only has the shell form): created through the engine's API.
 */
async function startWorkerWithHealthcheck(name: string, env: Record<string, string>): Promise<string> {
  const body = {
    Image: IMAGE,
    Env: Object.entries({ BROKER_URL, LOG_LEVEL: 'debug', ...env }).map(([key, value]) => `${key}=${value}`),
    Labels: { 'qscale-it': RUN },
    StopTimeout: 15,
    Healthcheck: { Test: ['CMD', 'node', '-e', HEALTHCHECK_SCRIPT], Interval: 1e9, Timeout: 5e9, Retries: 1 },
    HostConfig: { NetworkMode: 'host', Init: true },
  };
  const created = await dockerApi('POST', `/containers/create?name=${RUN}-${name}`, body);
  const { Id } = JSON.parse(created) as { Id: string };
  await dockerApi('POST', `/containers/${Id}/start`);
  return Id;
}

function dockerApi(method: string, path: string, body?: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: '/var/run/docker.sock', path, method, headers: { 'Content-Type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => ((response.statusCode ?? 500) < 300 ? resolve(text) : reject(new Error(`${method} ${path}: ${response.statusCode} ${text}`))));
    });
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
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
    for (const each of [queue, deadLetterQueueOf(queue), quarantineQueueOf(queue), results]) queues.add(each);
    await this.channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
    await this.channel.assertQueue(deadLetterQueueOf(queue), { durable: true });
    await this.channel.assertQueue(results, { durable: true });
    return { queue, results };
  }

  async assertResultsQueue(name: string): Promise<void> {
    await this.channel.assertQueue(name, { durable: true });
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

  /** Publishes a control message to every worker listening on the broker. */
  async control(message: ControlMessage): Promise<void> {
    await this.channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
    this.channel.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(message)));
    await this.channel.waitForConfirms();
  }

  /** Asks every worker for its state through direct reply-to; resolves to the first answer of workerId, with its round trip in ms. */
  async reportState(workerId: string): Promise<{ report: WorkerStateReport; ms: number }> {
    const channel = await this.connection.createChannel();
    try {
      const requestId = randomBytes(4).toString('hex');
      const answer = new Promise<WorkerStateReport>((resolve) => {
        void channel.consume(
          'amq.rabbitmq.reply-to',
          (message) => {
            const report = message && (JSON.parse(message.content.toString()) as WorkerStateReport);
            if (report && report.requestId === requestId && report.workerId === workerId) resolve(report);
          },
          { noAck: true },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 50)); // the reply-to consumer is registered
      const sentAt = performance.now();
      channel.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify({ type: 'report-state', requestId, replyTo: 'amq.rabbitmq.reply-to' })), { replyTo: 'amq.rabbitmq.reply-to' });
      const report = await answer;
      return { report, ms: performance.now() - sentAt };
    } finally {
      await channel.close().catch(() => {});
    }
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

  it('dead-letters a task that crashes its worker after ≤ 3 deliveries, and no innocent task (1,000 tasks, 3 workers, prefetch 10)', async () => {
    const { queue, results } = await broker.queuesFor('crash');
    const env = { QUEUE: queue, PREFETCH: '10', LOG_LEVEL: 'info', MAX_ATTEMPTS: '3' };
    // Restarted after a crash, as the demo and `qscale init` fleets are.
    const workers = await Promise.all([1, 2, 3].map((index) => startWorker(`crash-${index}`, env, ['--restart', 'on-failure'])));
    await Promise.all(workers.map(waitConsuming));
    const received = await broker.collect(results);
    const tasks: Array<Partial<TaskMessage>> = Array.from({ length: 1_000 }, () => ({ workMs: 10 }));
    tasks[40] = { workMs: 10, crashRate: 1 };
    const ids = await broker.publishTasks(queue, results, tasks);
    const bomb = ids[40];
    const innocents = ids.filter((id) => id !== bomb);

    await waitFor('every innocent task completed and the crash task dead-lettered', () => {
      const done = new Set(completed(received).map((result) => result.taskId));
      return innocents.every((id) => done.has(id)) && received.some((result) => result.taskId === bomb && result.outcome === 'dead-lettered');
    }, 90_000);
    await waitFor('the queues empty', async () => (await broker.messageCount(queue)) + (await broker.messageCount(quarantineQueueOf(queue))) === 0, 10_000);

    const dead = await broker.getAll(deadLetterQueueOf(queue));
    expect(dead.map((message) => message.properties.messageId)).toEqual([bomb]);
    expect(dead[0].properties.headers).toMatchObject({ [DEAD_LETTER_REASON_HEADER]: 'worker crashed', [ABANDONED_HEADER]: 3 });
    expect(received.filter((result) => result.outcome === 'dead-lettered')).toEqual([expect.objectContaining({ taskId: bomb, error: 'worker crashed' })]);
    expect(received.filter((result) => result.taskId === bomb && result.outcome !== 'dead-lettered')).toEqual([]);
    // Each delivery that ran it killed a worker: 3 deliveries, 3 crashes, each container restarted.
    const restarts = await Promise.all(workers.map(async (id) => Number(await docker('inspect', '-f', '{{.RestartCount}}', id))));
    expect(restarts.reduce((sum, count) => sum + count, 0)).toBe(3);
    const logs = (await Promise.all(workers.map(logsOf))).join('\n');
    expect(logs).toContain('crashing on purpose (crashRate): SIGKILL');
    expect(logs).toMatch(new RegExp(`"msg":"dead-lettered".*"taskId":"${bomb}".*"reason":"worker crashed`));
  });

  it('keeps a worker healthy and responsive through a CPU task of 3× the AMQP heartbeat, which completes once', async () => {
    const { queue, results } = await broker.queuesFor('cpu');
    const heartbeatSeconds = 3;
    const worker = await startWorkerWithHealthcheck('cpu-1', { QUEUE: queue, BROKER_URL: `${BROKER_URL}?heartbeat=${heartbeatSeconds}` });
    await waitConsuming(worker);
    const workerId = worker.slice(0, 12);
    const received = await broker.collect(results);
    const [id] = await broker.publishTasks(queue, results, [{ workMs: 3 * heartbeatSeconds * 1000, cpu: true }]);

    await waitFor('the task under way', async () => (await broker.reportState(workerId)).report.working === 1, 10_000);
    const startedAt = Date.now();
    const roundTrips: number[] = [];
    const heartbeatAges: number[] = [];
    const health = new Set<string>();
    while (received.length === 0 && Date.now() - startedAt < 30_000) {
      const { report, ms } = await broker.reportState(workerId);
      if (report.working === 1) roundTrips.push(ms);
      heartbeatAges.push(Number(await docker('exec', worker, 'node', '-e', "process.stdout.write(String(Date.now()-require('fs').statSync('/tmp/qscale-heartbeat').mtimeMs))")));
      health.add(await docker('inspect', '-f', '{{.State.Health.Status}}', worker));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a duplicate would arrive about now
    expect(received).toEqual([expect.objectContaining({ taskId: id, outcome: 'completed', attempt: 1, redelivered: false })]);
    console.log(`report-state round trips during the CPU task (ms): ${roundTrips.map((ms) => ms.toFixed(1)).join(" ")}; heartbeat ages: ${heartbeatAges.join(" ")}`);
    expect(roundTrips.length).toBeGreaterThan(5);
    // The control queue answers in milliseconds while the CPU is busy; a blocked event loop would take
    // seconds. The median holds the 50 ms goal; the bound on the slowest allows for a loaded 2-CPU host.
    const sorted = [...roundTrips].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(50);
    expect(sorted[sorted.length - 1]).toBeLessThan(250);
    // The heartbeat file is written every 5 s; a blocked event loop would let it age to the task's 9 s.
    expect(Math.max(...heartbeatAges)).toBeLessThan(6_000);
    // Healthy from the first check on (the 1 s interval's first check may not have run yet: "starting").
    expect([...health].filter((status) => status !== 'starting')).toEqual(['healthy']);
    const logs = await logsOf(worker);
    expect(logs).not.toContain('lost the broker connection');
  });

  it('drops a cancelled run’s backlog within 5 s: acked unworked, counted dropped, never failed or dead-lettered', async () => {
    const { queue, results } = await broker.queuesFor('cancel');
    const worker = await startWorker('cancel-1', { QUEUE: queue, PREFETCH: '10', LOG_LEVEL: 'info' });
    await waitConsuming(worker);
    const received = await broker.collect(results);
    const run = `${RUN}-cancelled`;
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 300 }, () => ({ run, workMs: 100 })));
    await waitFor('work under way', () => received.length >= 3);

    const cancelledAt = Date.now();
    await broker.control({ type: 'cancel-run', run, until: Date.now() + 60_000 });
    await waitFor('the backlog gone', async () => (await broker.messageCount(queue)) === 0 && (await broker.reportState(worker.slice(0, 12))).report.held === 0, 5_000);
    const dropMs = Date.now() - cancelledAt;

    await docker('stop', '-t', '15', worker);
    const drained = (await logsOf(worker)).split('\n').find((line) => line.includes('"msg":"drained"'));
    const summary = JSON.parse(drained ?? '{}') as { completed: number; dropped: number; failed: number; deadLettered: number };
    expect(summary.dropped).toBeGreaterThan(250);
    expect(summary.completed + summary.dropped).toBe(ids.length);
    expect([summary.failed, summary.deadLettered]).toEqual([0, 0]);
    expect(received.length).toBe(summary.completed);
    expect(await broker.messageCount(deadLetterQueueOf(queue))).toBe(0);
    expect(dropMs).toBeLessThan(5_000);
  });

  it('hands back prefetched tasks on SIGTERM as fresh copies: none flagged redelivered, none quarantined', async () => {
    const { queue, results } = await broker.queuesFor('handback');
    const first = await startWorker('handback-1', { QUEUE: queue, PREFETCH: '20', LOG_LEVEL: 'info' });
    await waitConsuming(first);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 40 }, () => ({ workMs: 200 })));
    await waitFor('work under way', () => received.length >= 1);
    await docker('stop', '-t', '15', first);
    const summary = JSON.parse((await logsOf(first)).split('\n').find((line) => line.includes('"msg":"drained"')) ?? '{}') as { handedBack: number };
    expect(summary.handedBack).toBeGreaterThan(10);

    const second = await startWorker('handback-2', { QUEUE: queue, PREFETCH: '20', TASK_MS: '0', LOG_LEVEL: 'info' });
    await waitFor('every task completed', () => new Set(completed(received).map((result) => result.taskId)).size === ids.length, 30_000);
    expect(completed(received).filter((result) => result.redelivered)).toEqual([]);
    expect(completed(received)).toHaveLength(ids.length);
    await docker('stop', '-t', '15', second);
    const secondSummary = JSON.parse((await logsOf(second)).split('\n').find((line) => line.includes('"msg":"drained"')) ?? '{}') as { quarantined: number };
    expect(secondSummary.quarantined).toBe(0);
  });

  it('hands a task longer than the grace back before the SIGKILL: done once elsewhere, reported redelivered, never quarantined', async () => {
    const { queue, results } = await broker.queuesFor('grace');
    const env = { QUEUE: queue, LOG_LEVEL: 'info', QSCALE_STOP_TIMEOUT_MS: '3000' };
    const first = await startWorker('grace-1', env, ['--stop-timeout', '3']);
    await waitConsuming(first);
    const received = await broker.collect(results);
    const [id] = await broker.publishTasks(queue, results, [{ workMs: 6_000 }]);
    await waitFor('the task under way', async () => (await broker.reportState(first.slice(0, 12))).report.working === 1, 10_000);

    const stoppedAt = Date.now();
    await docker('stop', '-t', '3', first);
    const stopMs = Date.now() - stoppedAt;
    // Exit 1 (the drain timed out) at 2 s, not 137: the engine's SIGKILL at 3 s never came.
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', first)).toBe('1');
    expect(stopMs).toBeLessThan(3_000);
    const firstSummary = JSON.parse((await logsOf(first)).split('\n').find((line) => line.includes('"msg":"exiting unfinished"')) ?? '{}') as { interrupted: number };
    expect(firstSummary.interrupted).toBe(1);

    const second = await startWorker('grace-2', env);
    await waitFor('the task completed', () => completed(received).length >= 1, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would arrive about now
    expect(received).toEqual([expect.objectContaining({ taskId: id, outcome: 'completed', redelivered: true, workerId: second.slice(0, 12) })]);
    expect(await broker.messageCount(quarantineQueueOf(queue))).toBe(0);
    expect(await broker.messageCount(queue)).toBe(0);
    await docker('stop', '-t', '15', second);
    const secondSummary = JSON.parse((await logsOf(second)).split('\n').find((line) => line.includes('"msg":"drained"')) ?? '{}') as { completed: number; quarantined: number };
    expect([secondSummary.completed, secondSummary.quarantined]).toEqual([1, 0]);
  });

  it('counts results whose queue is gone as unroutable (acking their tasks), and bounds a results queue it creates', async () => {
    const { queue, results } = await broker.queuesFor('unroutable');
    const fallback = `${queue}.fallback`;
    queues.add(fallback);
    const worker = await startWorker('unroutable-1', { QUEUE: queue, TASK_MS: '5', LOG_LEVEL: 'info', RESULTS_QUEUE: fallback });
    await waitConsuming(worker);
    await broker.publishTasks(queue, `${results}.gone`, Array.from({ length: 3 }, () => ({})));
    await waitFor('the tasks acked', async () => (await broker.reportState(worker.slice(0, 12))).report.held === 0 && (await broker.messageCount(queue)) === 0, 10_000);
    await docker('stop', '-t', '15', worker);
    const logs = await logsOf(worker);
    const summary = JSON.parse(logs.split('\n').find((line) => line.includes('"msg":"drained"')) ?? '{}') as { completed: number; unroutable: number };
    expect([summary.completed, summary.unroutable]).toEqual([3, 3]);
    expect(logs).toContain(`"msg":"results dropped: their queue does not exist (the producer is gone?)","workerId":"${worker.slice(0, 12)}","queue":"${queue}","resultsQueue":"${results}.gone"`);
    const declared = (await execFileAsync('rabbitmqctl', ['-q', 'list_queues', 'name', 'arguments'], { timeout: 30_000 })).stdout.split('\n').find((line) => line.startsWith(`${fallback}\t`));
    expect(declared).toContain('x-max-length');
    expect(declared).toContain('drop-head');
  });

  it('a dead-letter queue deleted under a running worker: it declares it again, and the task is dead-lettered there once, for its failures, not as a crash', async () => {
    const { queue, results } = await broker.queuesFor('dlq-gone');
    const worker = await startWorker('dlq-gone-1', { QUEUE: queue, MAX_ATTEMPTS: '2', TASK_MS: '5', LOG_LEVEL: 'info' });
    await waitConsuming(worker);
    await broker.deleteQueues([deadLetterQueueOf(queue)]);
    const received = await broker.collect(results);
    const [id] = await broker.publishTasks(queue, results, [{ failRate: 1 }]);
    await waitFor('the task worked again after its dead-letter copy was returned', () => received.filter((result) => result.outcome === 'dead-lettered').length === 2, 20_000);
    await waitFor('the task in the declared-again DLQ', async () => (await broker.messageCount(deadLetterQueueOf(queue))) === 1, 10_000);
    const [dead] = await broker.getAll(deadLetterQueueOf(queue));
    expect(dead.properties.messageId).toBe(id);
    expect(dead.properties.headers).toMatchObject({ [DEAD_LETTER_REASON_HEADER]: expect.stringMatching(/^failed 2 attempt\(s\)/), [ATTEMPT_HEADER]: 2 });
    expect(dead.properties.headers?.[ABANDONED_HEADER]).toBeUndefined();
    expect(await broker.messageCount(queue)).toBe(0);
    await docker('stop', '-t', '15', worker);
    const logs = await logsOf(worker);
    // Declared once, not a loop: the first dead-letter copy was returned, the task handed back, worked again.
    expect(logs.split('\n').filter((line) => line.includes('declaring its queues again before the task goes back'))).toHaveLength(1);
    expect(logs).not.toContain('lost the broker connection');
    expect(received.filter((result) => result.taskId === id).map((result) => [result.attempt, result.outcome])).toEqual([
      [1, 'retrying'],
      [2, 'dead-lettered'],
      [2, 'dead-lettered'],
    ]);
  });

  it('declares a new task queue and its quarantine queue as quorum queues with QUEUE_TYPE=quorum', async () => {
    const queue = `${RUN}.quorum-new`;
    const results = `${queue}.results`;
    for (const each of [queue, deadLetterQueueOf(queue), quarantineQueueOf(queue), results]) queues.add(each);
    const worker = await startWorker('quorum-new-1', { QUEUE: queue, QUEUE_TYPE: 'quorum', TASK_MS: '5', LOG_LEVEL: 'info' });
    await waitConsuming(worker);
    const types = (await execFileAsync('rabbitmqctl', ['-q', 'list_queues', 'name', 'type'], { timeout: 30_000 })).stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([name]) => name === queue || name === quarantineQueueOf(queue));
    expect(types.sort()).toEqual([
      [queue, 'quorum'],
      [quarantineQueueOf(queue), 'quorum'],
    ]);
    await broker.assertResultsQueue(results);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 5 }, () => ({})));
    await waitFor('5 results', () => completed(received).length === ids.length);
  });

  it('consumes a task queue that exists with another type as it is, saying so in one line', async () => {
    const { queue, results } = await broker.queuesFor('classic-existing');
    const worker = await startWorker('quorum-1', { QUEUE: queue, QUEUE_TYPE: 'quorum', TASK_MS: '5', LOG_LEVEL: 'info' });
    await waitConsuming(worker);
    const received = await broker.collect(results);
    const ids = await broker.publishTasks(queue, results, Array.from({ length: 5 }, () => ({})));
    await waitFor('5 results', () => completed(received).length === ids.length);
    const lines = (await logsOf(worker)).split('\n').filter((line) => line.includes(`queue ${queue} exists with other arguments`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('QUEUE_TYPE asks for quorum');
    expect(lines[0]).toContain('To migrate');
  });
});
