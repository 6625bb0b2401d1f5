// Reaction time of `qscale autoscale --interval 1s` with the built-in policy (rate mode): from a
// backlog burst to the first new worker consuming (the queue's consumer count rises), against the
// real broker and engine, with the built CLI as a user runs it (node bin/qscale.js; `npm run build`
// first). Printed beside the reference loops' intervals: the Kubernetes HPA's default sync period
// (15 s) and KEDA's default polling interval (30 s). Targets: under 5 s (issue 6), median ≤ 1 s
// (autoscaler issue). No pass/fail. BENCH_POLICY=target-backlog measures the HPA formula instead.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BROKER = 'amqp://guest:guest@127.0.0.1:5672';
const TARGET = 10;
const BURST = 120;
const HPA_SYNC_S = 15;
const KEDA_POLLING_S = 30;
const project = `bench-autoscale-${process.pid}`;
const queue = `${project}.tasks`;
const results = `${project}.results`;
const dir = mkdtempSync(path.join(tmpdir(), 'qscale-bench-autoscale-'));

writeFileSync(
  path.join(dir, 'docker-compose.yml'),
  `version: "2.4"
services:
  worker:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 10s
    environment:
      BROKER_URL: ${BROKER}
      QUEUE: ${queue}
      RESULTS_QUEUE: ${results}
      TASK_MS: "10"
      PREFETCH: "2"
`,
);
writeFileSync(
  path.join(dir, 'test-config.yml'),
  `project:
  name: ${project}
broker:
  url: ${BROKER}
  management_url: http://127.0.0.1:15672
workers:
  worker:
    queue: ${queue}
    min_replicas: 1
    max_replicas: 4
    initial_replicas: 1
${process.env.BENCH_POLICY === 'target-backlog' ? `    autoscale:\n      target_backlog_per_worker: ${TARGET}\n` : ''}`,
);

const qscale = (...args) => execFileSync('node', [path.join(root, 'bin/qscale.js'), ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function removeAll() {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).toString().trim();
  if (ids) execFileSync('docker', ['rm', '-f', ...ids.split('\n')]);
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const connection = await amqp.connect(BROKER);
const channel = await connection.createConfirmChannel();
// Same arguments as the worker's declaration (templates/worker/src/protocol.ts).
await channel.assertQueue(queue, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': `${queue}.dlq` } });
await channel.assertQueue(`${queue}.dlq`, { durable: true });
await channel.assertQueue(results, { durable: true });
const consumers = async () => (await channel.checkQueue(queue)).consumerCount;

const rounds = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    removeAll();
    await channel.purgeQueue(queue);
    await channel.purgeQueue(results);
    qscale('up', '-q');
    await waitFor('the first worker', async () => (await consumers()) === 1, 30_000);

    const child = spawn('node', [path.join(root, 'bin/qscale.js'), 'autoscale', '--interval', '1s', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const lines = () => output.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    await waitFor('the autoscaler to decide once', () => lines().length > 0, 15_000);
    // Start between two polls, as a burst would.
    await sleep(300 + Math.random() * 700);

    // The burst: 120 tasks of 500 ms, far beyond what one worker drains in a poll.
    const crossedAt = Date.now();
    for (let index = 0; index < BURST; index++) {
      const task = { id: `${project}-${round}-${index}`, sentAt: Date.now(), workMs: 500 };
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(task)), { messageId: task.id, replyTo: results, contentType: 'application/json' });
    }
    await channel.waitForConfirms();
    await waitFor('a new worker consuming', async () => (await consumers()) > 1, 30_000);
    const consumingAt = Date.now();
    const decidedAt = Date.parse(lines().find((line) => line.direction === 'up')?.time ?? '') || NaN;
    rounds.push({ reactionMs: consumingAt - crossedAt, decisionMs: decidedAt - crossedAt });

    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
  }
} finally {
  removeAll();
  // The worker declares the quarantine queue too (protocol.ts quarantineQueueOf).
  for (const name of [queue, `${queue}.dlq`, `${queue}.quarantine`, results]) await channel.deleteQueue(name).catch(() => {});
  await connection.close();
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const reaction = median(rounds.map((r) => r.reactionMs)) / 1000;
const decision = median(rounds.map((r) => r.decisionMs)) / 1000;
console.log(`qscale autoscale --interval 1s (${process.env.BENCH_POLICY === 'target-backlog' ? 'target_backlog_per_worker 10' : 'built-in rate mode'}): backlog burst → first new worker consuming, ${ROUNDS} rounds`);
for (const [index, r] of rounds.entries()) console.log(`  round ${index + 1}: decided after ${(r.decisionMs / 1000).toFixed(2)} s, new worker consuming after ${(r.reactionMs / 1000).toFixed(2)} s`);
console.log(`median: decided ${decision.toFixed(2)} s, consuming ${reaction.toFixed(2)} s (target < 5 s: ${reaction < 5 ? 'met' : 'NOT met'})`);
console.log('reference loop intervals (time to even notice the burst, worst case; starting pods comes on top):');
console.log(`  Kubernetes HPA sync period ${HPA_SYNC_S} s: qscale reaction = ${(reaction / HPA_SYNC_S).toFixed(2)}× of it`);
console.log(`  KEDA polling interval   ${KEDA_POLLING_S} s: qscale reaction = ${(reaction / KEDA_POLLING_S).toFixed(2)}× of it`);
