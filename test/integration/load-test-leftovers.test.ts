import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDependencies, type CliDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { Interrupt } from '../../src/core/errors.js';
import { CONTROL_EXCHANGE, quarantineQueueOf, taskQueueArguments, type ControlMessage, type TaskMessage } from '../../templates/worker/src/protocol.js';
import { CapturedStream } from '../support/cli-harness.js';
import { expectConsumers, uniqueName, workerComposeService } from './support/real-cli.js';

/**
 * What a load test finds in its queues and leaves there: an interrupted run, a foreign backlog,
 * a queue nobody consumes, --purge, and a bad --out. Real RabbitMQ on 5672 (its management API on
 * 15672, for unacked counts) and real worker containers, in a project and queues of this file's own.
 */
const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
const ID = uniqueName('it-ltl');
const QUEUE = ID;
const IDLE_QUEUE = `${ID}-idle`;
const FOREIGN_REPLIES = `${ID}-foreign-replies`;
let dir: string;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;

async function qscale(args: string[], signal = new AbortController().signal) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const deps: CliDependencies = { ...realDependencies(), env: { PATH: process.env.PATH }, cwd: dir, stdout, stderr };
  const started = Date.now();
  const code = await main(['node', 'qscale', ...args], deps, signal);
  return { code, stdout: stdout.text, stderr: stderr.text, seconds: (Date.now() - started) / 1000 };
}

/** Ready + unacked of the queue and its quarantine, as the broker counts them (AMQP passive declare + management API). */
async function brokerHolds(queue: string): Promise<number> {
  let total = 0;
  for (const name of [queue, quarantineQueueOf(queue)]) {
    const response = await fetch(`http://127.0.0.1:15672/api/queues/%2F/${encodeURIComponent(name)}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    if (response.status === 404) continue;
    const body = (await response.json()) as { messages_unacknowledged?: number };
    const ready = (await channel.checkQueue(name)).messageCount;
    total += ready + (body.messages_unacknowledged ?? 0);
  }
  return total;
}

/** Tasks of no load-test run, each with its own work time, as another producer would send them. */
async function publishForeign(count: number, workMs: number): Promise<void> {
  const confirm = await connection.createConfirmChannel();
  for (let i = 0; i < count; i++) {
    const task: TaskMessage = { id: `${ID}-foreign-${i}`, sentAt: Date.now(), workMs };
    confirm.sendToQueue(QUEUE, Buffer.from(JSON.stringify(task)), { persistent: true, messageId: task.id, replyTo: FOREIGN_REPLIES });
  }
  await confirm.waitForConfirms();
  await confirm.close();
}

async function waitUntilEmpty(queue: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await brokerHolds(queue)) > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
}

beforeAll(async () => {
  execFileSync('docker', ['image', 'inspect', 'qscale/worker:local'], { stdio: 'pipe' });
  dir = mkdtempSync(path.join(tmpdir(), `${ID}-`));
  writeFileSync(
    path.join(dir, 'test-config.yml'),
    `project:
  name: ${ID}
broker:
  url: ${BROKER_URL}
  management_url: http://127.0.0.1:15672
workers:
  worker:
    queue: ${QUEUE}
    min_replicas: 0
    max_replicas: 4
    initial_replicas: 2
  idle:
    queue: ${IDLE_QUEUE}
    min_replicas: 0
    max_replicas: 1
    initial_replicas: 0
load_test:
  tasks: 50
  task_ms: 5
`,
  );
  // The idle service runs the same image; it never gets a replica here.
  writeFileSync(path.join(dir, 'docker-compose.yml'), `services:\n${workerComposeService(QUEUE, BROKER_URL)}  idle:\n    image: qscale/worker:local\n    network_mode: host\n    environment:\n      BROKER_URL: ${BROKER_URL}\n      QUEUE: ${IDLE_QUEUE}\n`);
  connection = await amqp.connect(BROKER_URL);
  channel = await connection.createChannel();
  channel.on('error', () => {});
  await channel.assertQueue(FOREIGN_REPLIES, { durable: false, arguments: { 'x-expires': 600_000 } });
  const up = await qscale(['up']);
  expect(up.code, up.stderr).toBe(0);
  await expectConsumers(BROKER_URL, QUEUE, 2);
});

afterAll(async () => {
  if (dir) await qscale(['down']);
  const leftovers = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${ID}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (leftovers.length > 0) execFileSync('docker', ['rm', '-f', ...leftovers], { stdio: 'pipe' });
  for (const queue of [QUEUE, `${QUEUE}.dlq`, quarantineQueueOf(QUEUE), IDLE_QUEUE, `${IDLE_QUEUE}.dlq`, FOREIGN_REPLIES]) await channel.deleteQueue(queue).catch(() => {});
  await connection.close();
});

describe('a load test and what its queues hold', () => {
  it('Ctrl-C: partial report, partial JSON, exit 130, cancel-run broadcast; then a 200-task run gets all 200 with nothing lost or pending', async () => {
    // Witness of the broadcast: a queue of our own bound to the control exchange.
    const { queue: controlTap } = await channel.assertQueue('', { exclusive: true });
    await channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true });
    await channel.bindQueue(controlTap, CONTROL_EXCHANGE, '');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Interrupt('SIGINT')), 3000);
    const interrupted = await qscale(['load-test', '--queue', QUEUE, '--tasks', '2000', '--task-ms', '50', '--out', 'partial.json', '--json'], controller.signal);
    clearTimeout(timer);
    expect(interrupted.code, interrupted.stderr).toBe(130);
    const partial = JSON.parse(interrupted.stdout);
    expect(partial).toMatchObject({ schema: 'qscale.load-test/v2', outcome: 'interrupted', interrupted: 'SIGINT', overall: { sent: 2000, lost: 0 } });
    // Pending is what the broker held at the end, never more than the run left open.
    expect(partial.overall.pending).toBeGreaterThan(0);
    expect(partial.overall.pending).toBeLessThanOrEqual(2000 - partial.overall.completed - partial.overall.failed);
    expect(partial.overall.pending).toBeLessThanOrEqual(partial.broker.heldAtEnd[QUEUE]);
    expect(interrupted.stderr).toContain('interrupted (SIGINT): the report above is partial');
    const broadcasts: ControlMessage[] = [];
    for (let message = await channel.get(controlTap, { noAck: true }); message; message = await channel.get(controlTap, { noAck: true })) {
      broadcasts.push(JSON.parse(message.content.toString()) as ControlMessage);
    }
    // report-state first (what do the workers hold?), then the cancel.
    expect(broadcasts.map((message) => message.type)).toEqual(['report-state', 'cancel-run']);
    expect(broadcasts[1]).toMatchObject({ type: 'cancel-run', run: partial.runId });

    // Right away: whatever the interrupted run left is either dropped by the workers (cancel-run)
    // or counted in the backlog the default timeout allows for.
    const next = await qscale(['load-test', '--queue', QUEUE, '--tasks', '200', '--task-ms', '50', '--json']);
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).overall).toMatchObject({ sent: 200, completed: 200, lost: 0, pending: 0 });
    // The management API lags by its statistics interval.
    await waitUntilEmpty(QUEUE, 10_000);
    expect(await brokerHolds(QUEUE)).toBe(0);
  });

  it('1,000 foreign messages ahead and a short timeout: a warning first, the run pending not lost, exit 1 with the reason', async () => {
    await publishForeign(1000, 20);
    const result = await qscale(['load-test', '--queue', QUEUE, '--tasks', '100', '--task-ms', '5', '--timeout', '3s', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${QUEUE} already holds [\\d,]+ messages; results will wait behind them`));
    const report = JSON.parse(result.stdout);
    expect(report.outcome).toBe('timed-out');
    expect(report.backlog[0].messages).toBeGreaterThan(500);
    expect(report.overall.lost).toBe(0);
    expect(report.overall.pending).toBe(100 - report.overall.completed - report.overall.failed);
    expect(report.overall.pending).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/error: timed out after 3s with \d+ tasks still pending in the broker: .* ahead of the run — wait for the backlog, use --purge, or give it --timeout \d+s/);
    await waitUntilEmpty(QUEUE, 30_000);
  });

  it('--purge --yes empties the queue first, and the run is as quick as on an empty queue', async () => {
    await publishForeign(1000, 20);
    const result = await qscale(['load-test', '--queue', QUEUE, '--tasks', '100', '--task-ms', '5', '--purge', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`purged ${QUEUE}: [\\d,]+ messages removed`));
    const report = JSON.parse(result.stdout);
    expect(report.backlog).toEqual([]);
    expect(report.overall).toMatchObject({ completed: 100, lost: 0, pending: 0 });
    // 1,000 × 20 ms over 2 workers would be 10 s.
    expect(report.overall.totalTimeMs).toBeLessThan(5000);
  });

  it('a queue with no consumer and --timeout 3s: a warning up front, tasks pending not lost, exit 1', async () => {
    const result = await qscale(['load-test', '--queue', IDLE_QUEUE, '--tasks', '20', '--timeout', '3s', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`warning: ${IDLE_QUEUE} has no consumer: its tasks will wait in the queue`);
    expect(JSON.parse(result.stdout).overall).toMatchObject({ sent: 20, pending: 20, lost: 0 });
    expect(result.stderr).toContain(`${IDLE_QUEUE} had no consumer — start the workers`);
    expect(result.seconds).toBeLessThan(15);
    await channel.purgeQueue(IDLE_QUEUE);
    const refused = await qscale(['load-test', '--queue', IDLE_QUEUE, '--tasks', '20', '--require-consumers']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: ${IDLE_QUEUE} has no consumer`);
    expect((await channel.checkQueue(IDLE_QUEUE)).messageCount).toBe(0);
  });

  it('--out /tmp (a directory): exit 2 before anything is published', async () => {
    const before = (await channel.checkQueue(QUEUE)).messageCount;
    const result = await qscale(['load-test', '--queue', QUEUE, '--tasks', '50', '--out', '/tmp']);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: 'error: --out: cannot write /tmp (it is a directory; give a file name)\n' });
    expect((await channel.checkQueue(QUEUE)).messageCount).toBe(before);
  });
});
