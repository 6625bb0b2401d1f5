import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTaskBroker } from '../../src/adapters/rabbitmq/task-broker.js';
import { realDependencies, type CliDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { systemClock } from '../../src/core/clock.js';
import { runLoadTest, type LoadTestPlan } from '../../src/core/load-test/run-load-test.js';
import type { TaskBroker } from '../../src/core/ports/task-broker.js';
import { taskQueueArguments, type TaskMessage, type TaskResult } from '../../templates/worker/src/protocol.js';
import { expectConsumers, workerComposeService } from './support/real-cli.js';

/**
 * Real RabbitMQ (127.0.0.1:5672) and real worker containers (qscale/worker:local, host network),
 * in a compose project and queues of this file's own, removed in afterAll.
 */
const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
const ID = `it-lt-${randomBytes(3).toString('hex')}`;
const QUEUE = ID;
const DUP_QUEUE = `${ID}-dup`;
let dir: string;

class Captured {
  text = '';
  isTTY = false;
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

async function qscale(...args: string[]) {
  const stdout = new Captured();
  const stderr = new Captured();
  const deps: CliDependencies = { ...realDependencies(), env: { PATH: process.env.PATH }, cwd: dir, stdout, stderr };
  const code = await main(['node', 'qscale', ...args], deps, new AbortController().signal);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

function containers(): string[] {
  return execFileSync('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${ID}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** The real adapter, recording every raw result body for a direct count. */
function recording(broker: TaskBroker, raw: unknown[]): TaskBroker {
  return new Proxy(broker, {
    get(target, property, receiver) {
      if (property === 'consumeResults') {
        return (queue: string, onResult: (delivery: { body: unknown }) => void) =>
          target.consumeResults(queue, (delivery) => {
            raw.push(delivery.body);
            onResult(delivery);
          });
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function directCount(raw: unknown[]) {
  const completions = new Map<string, number>();
  let redelivered = 0;
  for (const body of raw as TaskResult[]) {
    if (body.redelivered) redelivered++;
    if (body.outcome === 'completed') completions.set(body.taskId, (completions.get(body.taskId) ?? 0) + 1);
  }
  const duplicates = [...completions.values()].reduce((sum, count) => sum + count - 1, 0);
  return { completedTasks: completions.size, duplicates, redelivered };
}

function plan(overrides: Partial<LoadTestPlan>): LoadTestPlan {
  const runId = `${ID}-${randomBytes(2).toString('hex')}`;
  return {
    runId,
    queues: [QUEUE],
    tasksPerQueue: 100,
    payloadSize: 0,
    workMs: 5,
    failRate: 0,
    crashRate: 0,
    timeoutMs: 60_000,
    settleMs: 1000,
    brokerTimeoutMs: 60_000,
    purge: false,
    requireConsumers: false,
    maxUnconfirmed: 1000,
    resultsQueue: `qscale.results.${runId}`,
    thresholds: [],
    ...overrides,
  };
}

beforeAll(async () => {
  execFileSync('docker', ['image', 'inspect', 'qscale/worker:local'], { stdio: 'pipe' });
  dir = mkdtempSync(path.join(tmpdir(), `${ID}-`));
  writeFileSync(
    path.join(dir, 'docker-compose.yml'),
    `services:\n${workerComposeService(QUEUE, BROKER_URL)}`,
  );
  writeFileSync(
    path.join(dir, 'test-config.yml'),
    `project:
  name: ${ID}
workers:
  worker:
    queue: ${QUEUE}
    min_replicas: 0
    max_replicas: 4
    initial_replicas: 2
load_test:
  tasks: 50
  task_ms: 5
`,
  );
  const up = await qscale('up');
  expect(up.code, up.stderr).toBe(0);
  // Both workers consume before any test publishes.
  await expectConsumers(BROKER_URL, QUEUE, 2);
});

afterAll(async () => {
  if (dir) await qscale('down');
  const leftovers = containers();
  if (leftovers.length > 0) execFileSync('docker', ['rm', '-f', ...leftovers], { stdio: 'pipe' });
  const connection = await amqp.connect(BROKER_URL);
  const channel = await connection.createChannel();
  for (const queue of [QUEUE, `${QUEUE}.dlq`, DUP_QUEUE, `${DUP_QUEUE}.dlq`]) await channel.deleteQueue(queue);
  await connection.close();
});

describe('qscale load-test against RabbitMQ and worker containers', () => {
  it('accounts for every task, spread over both workers', async () => {
    const result = await qscale('load-test', '--tasks', '300', '--json', '--max-lost', '0');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.overall).toMatchObject({ sent: 300, confirmed: 300, completed: 300, failed: 0, lost: 0, duplicates: 0 });
    expect(report.overall.latencyMs.count).toBe(300);
    expect(report.overall.latencyMs.min).toBeGreaterThanOrEqual(5);
    expect(report.overall.processingMs.avg).toBeGreaterThanOrEqual(5);
    const workers = Object.values(report.overall.workers) as Array<{ completed: number }>;
    expect(workers).toHaveLength(2);
    expect(workers.reduce((sum, worker) => sum + worker.completed, 0)).toBe(300);
    expect(report.timedOut).toBe(false);
  });

  it('counts dead-lettered tasks as failed, not lost', async () => {
    const result = await qscale('load-test', '--tasks', '200', '--fail-rate', '0.3', '--json');
    const report = JSON.parse(result.stdout);
    expect(report.overall.lost).toBe(0);
    expect(report.overall.completed + report.overall.failed).toBe(200);
    // P(3 failed attempts) = 2.7%: some tasks are retried, a few dead-lettered.
    expect(report.overall.retries).toBeGreaterThan(0);
  });

  it('sets the exit code from the thresholds', async () => {
    const failing = await qscale('load-test', '--tasks', '40', '--max-p95', '1ms', '--max-lost', '0');
    expect(failing.code).toBe(99);
    expect(failing.stdout).toMatch(/✘ --max-p95 1ms: p95 latency \d+ms > 1ms/);
    expect(failing.stdout).toContain('✔ --max-lost 0: lost 0 ≤ 0');
    expect(failing.stderr).toMatch(/error: threshold failed: --max-p95 1ms/);
    const passing = await qscale('load-test', '--tasks', '40', '--max-p95', '60s', '--max-lost', '0');
    expect(passing.code, passing.stderr).toBe(0);
  });

  it('publishes nothing on bad input', async () => {
    const before = await openTaskBroker(BROKER_URL);
    const ready = (await before.queueInfo(QUEUE))?.ready;
    const result = await qscale('load-test', '--rate', 'abc');
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: 'error: --rate: "abc" is not a number\n' });
    expect((await before.queueInfo(QUEUE))?.ready).toBe(ready);
    await before.close();
  });

  it('counts exactly the duplicates a worker crash produces (result sent, ack lost), and loses nothing', async () => {
    // An in-process worker: its first channel publishes results for 3 tasks, then dies before
    // acking them; a second channel takes the redeliveries and completes them again.
    const connection = await amqp.connect(BROKER_URL);
    const first = await connection.createConfirmChannel();
    await first.assertQueue(DUP_QUEUE, { durable: true, arguments: taskQueueArguments(DUP_QUEUE) });
    await first.prefetch(3);
    const reply = (channel: amqp.ConfirmChannel, message: amqp.ConsumeMessage, workerId: string) => {
      const task = JSON.parse(message.content.toString()) as TaskMessage;
      const now = Date.now();
      const result: TaskResult = { taskId: task.id, run: task.run, queue: DUP_QUEUE, workerId, startedAt: now, finishedAt: now, attempt: 1, redelivered: message.fields.redelivered, outcome: 'completed' };
      channel.sendToQueue(message.properties.replyTo, Buffer.from(JSON.stringify(result)));
    };
    let crashed = 0;
    const crash = new Promise<void>((resolve) => {
      void first.consume(DUP_QUEUE, (message) => {
        if (!message || crashed >= 3) return;
        reply(first, message, 'crashing');
        if (++crashed === 3) void first.waitForConfirms().then(() => first.close()).then(resolve);
      });
    });
    const raw: unknown[] = [];
    const broker = recording(await openTaskBroker(BROKER_URL), raw);
    let second: amqp.ConfirmChannel | undefined;
    try {
      const run = runLoadTest({ broker, clock: systemClock }, plan({ queues: [DUP_QUEUE], tasksPerQueue: 50, settleMs: 1000, timeoutMs: 30_000 }));
      await crash;
      second = await connection.createConfirmChannel();
      await second.prefetch(10);
      const survivor = second;
      await survivor.consume(DUP_QUEUE, (message) => {
        if (!message) return;
        reply(survivor, message, 'survivor');
        survivor.ack(message);
      });
      const report = await run;
      const direct = directCount(raw);
      expect(report.overall).toMatchObject({ sent: 50, completed: 50, lost: 0, duplicates: 3, duplicatedTasks: 3 });
      expect(report.overall.duplicates).toBe(direct.duplicates);
      expect(report.overall.redelivered).toBe(direct.redelivered);
      expect(report.overall.workers.crashing.completed).toBe(3);
      expect(report.overall.workers.survivor.completed).toBe(50);
    } finally {
      await broker.close();
      await connection.close();
    }
  });

  it('counts duplicates exactly when a worker container is killed mid-run, and loses nothing', async () => {
    const raw: unknown[] = [];
    const broker = recording(await openTaskBroker(BROKER_URL), raw);
    let killed: string | undefined;
    try {
      const report = await runLoadTest(
        {
          broker,
          clock: systemClock,
          progressIntervalMs: 0,
          onEvent: (event) => {
            if (event.type === 'progress' && !killed && event.progress.completed >= 100) {
              killed = containers()[0];
              execFileSync('docker', ['kill', killed], { stdio: 'pipe' });
            }
          },
        },
        plan({ tasksPerQueue: 400, workMs: 20, settleMs: 2000 }),
      );
      expect(killed).toBeDefined();
      const direct = directCount(raw);
      expect(report.overall).toMatchObject({ sent: 400, completed: 400, lost: 0 });
      expect(report.overall.duplicates).toBe(direct.duplicates);
      expect(report.overall.redelivered).toBe(direct.redelivered);
      // The killed worker held up to PREFETCH unacked tasks: the broker redelivered them.
      expect(report.overall.redelivered).toBeGreaterThan(0);
      expect(report.overall.duplicates).toBeLessThanOrEqual(report.overall.redelivered);
    } finally {
      await broker.close();
    }
  });
});
