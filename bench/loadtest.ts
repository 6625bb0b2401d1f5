/**
 * Load-test benchmark (not a test: speed targets live here only). Build and run:
 *   npx esbuild bench/loadtest.ts --bundle --platform=node --format=esm --packages=external --outfile=bench/dist/loadtest.mjs
 *   node bench/dist/loadtest.mjs [--tasks 20000] [--slow-tasks 200] [--warmup 5000] [--concurrency 1] [--rounds 3]
 * Needs RabbitMQ on 127.0.0.1:5672 and the image qscale/worker:local. Uses its own compose project
 * and queues (bench-lt-<random>) and removes them at the end.
 *
 * 1. No-op tasks, 2 worker containers: tasks/s of `qscale load-test --tasks N`, beside a raw
 *    amqplib script in the same run (publish with confirms, 2 consumers that reply, collect).
 *    Target: qscale ≥ 0.95× raw. Both sides are measured warm: one discarded run of each first
 *    (fresh worker containers, fresh queues and this process's JIT, which both sides share through
 *    amqplib, made whichever side ran first ~30 % slower), then each is timed from its first
 *    publish to its last result. The sides alternate for --rounds rounds and the median ratio is
 *    the figure: on a shared machine one round's ratio swings by ±30 %.
 * 2. 100 ms tasks, prefetch 1: `--scale-steps 2,4`; target: 4 workers ≥ 1.9× the throughput of 2.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { realDependencies } from '../src/cli/dependencies.js';
import { main } from '../src/cli/main.js';

const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TASKS = arg('--tasks', 20_000);
const SLOW_TASKS = arg('--slow-tasks', 200);
const WARMUP = arg('--warmup', 5000);
const ID = `bench-lt-${randomBytes(3).toString('hex')}`;
const CONCURRENCY = arg('--concurrency', 1);
const ROUNDS = arg('--rounds', 3);
const NOOP_QUEUE = `${ID}-noop`;
const SLOW_QUEUE = `${ID}-slow`;
const RAW_QUEUE = `${ID}-raw`;

const service = (queue: string, prefetch: number) => `    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    environment:
      BROKER_URL: ${BROKER_URL}
      QUEUE: ${queue}
      PREFETCH: "${prefetch}"
      CONCURRENCY: "${prefetch === 1 ? 1 : CONCURRENCY}"
      TASK_MS: "1"
      LOG_LEVEL: warn
`;

const dir = mkdtempSync(path.join(tmpdir(), `${ID}-`));
writeFileSync(path.join(dir, 'docker-compose.yml'), `services:\n  noop:\n${service(NOOP_QUEUE, 50)}  slow:\n${service(SLOW_QUEUE, 1)}`);
writeFileSync(
  path.join(dir, 'test-config.yml'),
  `project:\n  name: ${ID}\nworkers:\n  noop:\n    queue: ${NOOP_QUEUE}\n    min_replicas: 0\n    max_replicas: 4\n    initial_replicas: 2\n  slow:\n    queue: ${SLOW_QUEUE}\n    min_replicas: 0\n    max_replicas: 4\n    initial_replicas: 0\n`,
);

async function qscale(...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const stderr = { write: (text: string) => process.stderr.write(text), isTTY: false };
  const deps = { ...realDependencies(), cwd: dir, stdout: { write: (text: string) => (stdout += text) }, stderr };
  const code = await main(['node', 'qscale', ...args], deps, new AbortController().signal);
  return { code, stdout };
}

async function waitForConsumers(channel: amqp.Channel, queue: string, count: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const { consumerCount } = await channel.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': `${queue}.dlq` } });
    if (consumerCount === count) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${queue}: never reached ${count} consumers`);
}

/** The baseline: what a minimal amqplib script gets end to end with the same broker. */
async function rawBaseline(tasks: number, queue: string, ownConsumers: boolean): Promise<number> {
  const connection = await amqp.connect(BROKER_URL);
  const publisher = await connection.createConfirmChannel();
  const collector = await connection.createChannel();
  await publisher.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': `${queue}.dlq` } });
  const results = (await collector.assertQueue('', { exclusive: true })).queue;
  // Each consumer on its own connection, as two worker processes would be.
  const workerConnections = ownConsumers ? await Promise.all([0, 1].map(() => amqp.connect(BROKER_URL))) : [];
  for (const workerConnection of workerConnections) {
    const channel = await workerConnection.createConfirmChannel();
    await channel.prefetch(50);
    await channel.consume(queue, (message) => {
      if (!message) return;
      const task = JSON.parse(message.content.toString());
      const now = Date.now();
      channel.sendToQueue(message.properties.replyTo, Buffer.from(JSON.stringify({ taskId: task.id, startedAt: now, finishedAt: now, outcome: 'completed' })), { persistent: true }, (error) => {
        if (!error) channel.ack(message);
      });
    });
  }
  let received = 0;
  const done = new Promise<void>((resolve) => {
    void collector.consume(results, () => ++received === tasks && resolve(), { noAck: true });
  });
  let outstanding = 0;
  // Timed like qscale's report: from the first publish to the last result.
  const start = Date.now();
  for (let i = 0; i < tasks; i++) {
    while (outstanding >= 1000) await new Promise((resolve) => setImmediate(resolve));
    outstanding++;
    const body = Buffer.from(JSON.stringify({ id: `raw-${i}`, sentAt: Date.now(), workMs: 0 }));
    const ok = publisher.sendToQueue(queue, body, { persistent: true, messageId: `raw-${i}`, replyTo: results }, () => outstanding--);
    if (!ok) await new Promise((resolve) => publisher.once('drain', resolve));
  }
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('raw baseline timed out')), 120_000))]);
  const seconds = (Date.now() - start) / 1000;
  await Promise.all(workerConnections.map((c) => c.close()));
  await connection.close();
  return tasks / seconds;
}

async function cleanup(): Promise<void> {
  await qscale('down').catch(() => {});
  const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${ID}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (left.length) execFileSync('docker', ['rm', '-f', ...left]);
  const connection = await amqp.connect(BROKER_URL);
  const channel = await connection.createChannel();
  for (const queue of [NOOP_QUEUE, SLOW_QUEUE, RAW_QUEUE]) for (const name of [queue, `${queue}.dlq`]) await channel.deleteQueue(name);
  await connection.close();
}

async function run(): Promise<void> {
  const connection = await amqp.connect(BROKER_URL);
  const admin = await connection.createChannel();
  console.log(`bench ${ID}: ${TASKS} no-op tasks, then ${SLOW_TASKS} × 100 ms tasks per step`);

  if ((await qscale('up')).code !== 0) throw new Error('qscale up failed');
  await waitForConsumers(admin, NOOP_QUEUE, 2);
  if (WARMUP > 0) {
    await qscale('load-test', '--queue', NOOP_QUEUE, '--tasks', String(WARMUP), '--task-ms', '0', '--settle', '0', '--json', '-q');
    await rawBaseline(WARMUP, NOOP_QUEUE, false);
    await rawBaseline(WARMUP, RAW_QUEUE, true);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const sameWorkers: number[] = [];
  const ownConsumers: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const noop = await qscale('load-test', '--queue', NOOP_QUEUE, '--tasks', String(TASKS), '--task-ms', '0', '--settle', '0', '--json', '-q');
    const report = JSON.parse(noop.stdout);
    const qscaleRate = report.overall.throughput as number;
    const rawSameWorkers = await rawBaseline(TASKS, NOOP_QUEUE, false);
    const rawOwnConsumers = await rawBaseline(TASKS, RAW_QUEUE, true);
    sameWorkers.push(qscaleRate / rawSameWorkers);
    ownConsumers.push(qscaleRate / rawOwnConsumers);
    console.log(
      `round ${round}: qscale load-test ${qscaleRate.toFixed(0)} tasks/s (lost ${report.overall.lost}, pending ${report.overall.pending}, p50 ${report.overall.latencyMs.p50}ms, p99 ${report.overall.latencyMs.p99}ms); ` +
        `raw publisher+collector, same workers ${rawSameWorkers.toFixed(0)} tasks/s; raw script with 2 in-process consumers ${rawOwnConsumers.toFixed(0)} tasks/s`,
    );
  }
  console.log(`ratio qscale / raw, same workers: median ${median(sameWorkers).toFixed(2)}× of ${sameWorkers.map((ratio) => ratio.toFixed(2)).join(', ')} (target ≥ 0.95×)`);
  console.log(`ratio qscale / raw script with its own consumers: median ${median(ownConsumers).toFixed(2)}× of ${ownConsumers.map((ratio) => ratio.toFixed(2)).join(', ')} (target ≥ 0.95×)`);

  await qscale('scale', 'noop', '0');
  const steps = await qscale('load-test', '--queue', SLOW_QUEUE, '--tasks', String(SLOW_TASKS), '--task-ms', '100', '--scale-steps', '2,4', '--settle', '0', '--json', '-q');
  const stepReport = JSON.parse(steps.stdout);
  for (const step of stepReport.efficiency) console.log(`100 ms tasks, prefetch 1, ${step.workers} workers: ${step.throughput} tasks/s (speedup ${step.speedup}×, linear ${step.linear}×)`);
  const ratio = stepReport.efficiency[1].speedup as number;
  console.log(`ratio 4 workers / 2 workers: ${ratio.toFixed(2)}× (target ≥ 1.90×)`);
  await connection.close();
}

try {
  await run();
} finally {
  await cleanup();
}
