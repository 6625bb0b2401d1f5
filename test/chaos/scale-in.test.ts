import { spawn, type ChildProcess } from 'node:child_process';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueOf, quarantineQueueOf, taskQueueArguments, type TaskMessage, type TaskResult } from '../../templates/worker/src/protocol.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, qscale, removeProjectContainers, uniqueName } from '../integration/support/real-cli.js';
import { brokerQueueCounts, CHAOS_BROKER_URL, deleteQueues, recordFault } from './support/chaos-broker.js';

/**
 * Scale-in that never interrupts work (scale-in issue): qscale stops idle workers first, by the
 * workers' own report over the broker, and removed workers drain within their grace. Real worker
 * containers on the chaos broker; every figure is checked against the broker itself.
 */
const project = uniqueName('chaos-scale-in');
const queue = `${project}.tasks`;
/** The bulk run's queue: its workers work 4 tasks at once, so 5,000 take seconds, not a minute. */
const bulkQueue = `${project}.bulk`;
const resultsQueue = `${queue}.results`;

const COMPOSE = `version: "2.4"
services:
  w:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 10s
    environment:
      BROKER_URL: ${CHAOS_BROKER_URL}
      QUEUE: ${queue}
      PREFETCH: "1"
      CONCURRENCY: "1"
      TASK_MS: "20"
      LOG_LEVEL: warn
  b:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 10s
    environment:
      BROKER_URL: ${CHAOS_BROKER_URL}
      QUEUE: ${bulkQueue}
      PREFETCH: "8"
      CONCURRENCY: "4"
      LOG_LEVEL: warn
`;

const CONFIG = `project:
  name: ${project}
broker:
  url: ${CHAOS_BROKER_URL}
workers:
  w:
    queue: ${queue}
    min_replicas: 0
    max_replicas: 4
  b:
    queue: ${bulkQueue}
    min_replicas: 0
    max_replicas: 4
`;

let dir: string;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Publishes tasks and records every result; its connection is the test's own. */
class Ledger {
  readonly results: TaskResult[] = [];
  readonly ids: string[] = [];

  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
  ) {}

  static async open(): Promise<Ledger> {
    const connection = await amqp.connect(CHAOS_BROKER_URL);
    connection.on('error', () => {});
    const channel = await connection.createConfirmChannel();
    for (const name of [queue, bulkQueue]) await channel.assertQueue(name, { durable: true, arguments: taskQueueArguments(name) });
    await channel.assertQueue(resultsQueue, { durable: true });
    const ledger = new Ledger(connection, channel);
    await channel.consume(resultsQueue, (message) => message && ledger.results.push(JSON.parse(message.content.toString()) as TaskResult), { noAck: true });
    return ledger;
  }

  async publish(prefix: string, count: number, task: Partial<TaskMessage>, to = queue): Promise<void> {
    for (let index = 0; index < count; index++) {
      const message: TaskMessage = { id: `${prefix}-${index}`, sentAt: Date.now(), ...task };
      this.ids.push(message.id);
      this.channel.sendToQueue(to, Buffer.from(JSON.stringify(message)), { messageId: message.id, replyTo: resultsQueue, persistent: true });
    }
    await this.channel.waitForConfirms();
  }

  completed(prefix = ''): TaskResult[] {
    return this.results.filter((result) => result.outcome === 'completed' && result.taskId.startsWith(prefix));
  }

  counts(prefix: string): { sent: number; completed: number; lost: number; duplicates: number; redelivered: number } {
    const ids = this.ids.filter((id) => id.startsWith(prefix));
    const completed = this.completed(prefix);
    const unique = new Set(completed.map((result) => result.taskId));
    return {
      sent: ids.length,
      completed: unique.size,
      lost: ids.filter((id) => !unique.has(id)).length,
      duplicates: completed.length - unique.size,
      redelivered: this.results.filter((result) => result.taskId.startsWith(prefix) && result.redelivered).length,
    };
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => {});
  }
}

/** Exit codes of the project's containers as they die (`docker events`): [name, exit code] in order. */
function watchExits(): { exits: Array<[string, number]>; stop: () => void } {
  const exits: Array<[string, number]> = [];
  const events: ChildProcess = spawn('docker', ['events', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=b', '--filter', 'event=die', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}']);
  let pending = '';
  events.stdout?.setEncoding('utf8');
  events.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) exits.push([line.split(' ')[0], Number(line.split(' ')[1])]);
  });
  return { exits, stop: () => events.kill() };
}

async function scaleTo(count: number, service = 'w'): Promise<number> {
  const startedAt = Date.now();
  const result = await qscale(dir, 'scale', service, String(count));
  expect({ count, code: result.code, errors: result.stderr.split('\n').filter((line) => line.startsWith('error')) }).toEqual({ count, code: 0, errors: [] });
  return Date.now() - startedAt;
}

async function expectQueuesEmpty(taskQueue = queue): Promise<void> {
  await waitFor('the task queue to be empty', async () => {
    const counts = await brokerQueueCounts(taskQueue);
    return counts?.ready === 0 && counts.unacked === 0;
  }, 30_000);
  for (const name of [taskQueue, quarantineQueueOf(taskQueue), deadLetterQueueOf(taskQueue)]) {
    const counts = await brokerQueueCounts(name);
    expect({ name, ready: counts?.ready ?? 0, unacked: counts?.unacked ?? 0 }).toEqual({ name, ready: 0, unacked: 0 });
  }
}

let ledger: Ledger;

beforeAll(async () => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  ledger = await Ledger.open();
});

afterAll(async () => {
  await ledger?.close();
  await removeProjectContainers(project);
  await deleteQueues(...[queue, bulkQueue].flatMap((name) => [name, quarantineQueueOf(name), deadLetterQueueOf(name)]), resultsQueue);
});

describe('scale-in stops idle workers first', () => {
  it('4 workers, 2 busy on 8 s tasks: scale 4 → 2 takes ≤ 3 s and neither task is redelivered, 3 rounds of 3', async () => {
    const rounds: string[] = [];
    for (let round = 1; round <= 3; round++) {
      await scaleTo(4);
      await waitFor('4 consumers', async () => (await brokerQueueCounts(queue))?.consumers === 4, 30_000);
      const prefix = `long-${round}`;
      await ledger.publish(prefix, 2, { workMs: 8000 });
      await waitFor('both tasks taken', async () => (await brokerQueueCounts(queue))?.unacked === 2, 10_000);
      await sleep(1000);
      const tookMs = await scaleTo(2);
      const remaining = (await containerIdsOf(project, 'w')).map((id) => id.slice(0, 12));
      await waitFor('both 8 s tasks done', () => ledger.completed(prefix).length >= 2, 20_000);
      const counts = ledger.counts(prefix);
      const workers = ledger.completed(prefix).map((result) => result.workerId);
      rounds.push(`round ${round}: scale 4→2 in ${(tookMs / 1000).toFixed(1)} s, redelivered ${counts.redelivered}`);
      expect(tookMs).toBeLessThanOrEqual(3000);
      expect(counts).toMatchObject({ sent: 2, completed: 2, lost: 0, duplicates: 0, redelivered: 0 });
      // The busy workers are the ones left running: they were asked, and said they were busy.
      expect(workers.every((workerId) => remaining.some((id) => id.startsWith(workerId)))).toBe(true);
      recordFault({ fault: `scale-in 4→2 with 2 busy (round ${round})`, sent: 2, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: tookMs / 1000, note: `redelivered ${counts.redelivered}` });
    }
    console.log(rounds.join('\n'));
    await expectQueuesEmpty();
  }, 120_000);

  it('5,000 tasks of 20 ms with scale 4 → 1 at 50 % and 1 → 4 → 2 at 75 %: 0 lost, 0 duplicates, removed workers exit 0, queue empty', async () => {
    const exits = watchExits();
    try {
      await scaleTo(4, 'b');
      await waitFor('4 consumers', async () => (await brokerQueueCounts(bulkQueue))?.consumers === 4, 30_000);
      const prefix = 'bulk';
      const startedAt = Date.now();
      await ledger.publish(prefix, 5000, { workMs: 20 }, bulkQueue);
      await waitFor('50 % done', () => ledger.counts(prefix).completed >= 2500, 60_000);
      const down = await scaleTo(1, 'b');
      await waitFor('75 % done', () => ledger.counts(prefix).completed >= 3750, 90_000);
      const up = await scaleTo(4, 'b');
      const downAgain = await scaleTo(2, 'b');
      await waitFor('every task done', () => ledger.counts(prefix).completed >= 5000, 90_000);
      await waitFor('5 removed workers to be reported', () => exits.exits.length >= 5, 5000).catch(() => {});
      const counts = ledger.counts(prefix);
      const removed = [...exits.exits];
      console.log(`5,000 tasks: ${((Date.now() - startedAt) / 1000).toFixed(1)} s; scale 4→1 ${down} ms, 1→4 ${up} ms, 4→2 ${downAgain} ms; ${JSON.stringify(counts)}; exits ${JSON.stringify(removed)}`);
      expect(counts).toMatchObject({ sent: 5000, completed: 5000, lost: 0, duplicates: 0 });
      // 3 removed at 50 %, 2 at the second scale-in: each exited 0, within its grace (the stop took less than 10 s).
      expect(removed).toHaveLength(5);
      expect(removed.filter(([, code]) => code !== 0)).toEqual([]);
      expect(Math.max(down, downAgain)).toBeLessThan(10_000);
      recordFault({ fault: 'scale-in 4→1 at 50 %, 1→4→2 at 75 % (5,000 × 20 ms, 4 at a time per worker)', sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: null, note: `redelivered ${counts.redelivered}; removed workers exit 0: ${removed.length}` });
      await expectQueuesEmpty(bulkQueue);
    } finally {
      exits.stop();
    }
  }, 240_000);
});
