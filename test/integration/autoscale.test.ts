import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { deadLetterQueueOf, quarantineQueueOf, taskQueueArguments, type TaskMessage, type TaskResult } from '../../templates/worker/src/protocol.js';
import { CapturedStream } from '../support/cli-harness.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

const BROKER = 'amqp://guest:guest@127.0.0.1:5672';
const project = uniqueName('it-autoscale');
const queue = `${project}.tasks`;
const results = `${project}.results`;
const TASKS = 80;
const WORK_MS = 250;

// One worker does 4 tasks/s (250 ms each, one at a time, prefetch 2): 80 tasks would take 20 s alone.
const COMPOSE = `version: "2.4"
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
`;

const CONFIG = `project:
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
    autoscale:
      target_backlog_per_worker: 10
      scale_up_cooldown: 1s
      scale_down_cooldown: 5s
      stabilization_window: 5s
`;

interface DecisionLine {
  time: string;
  direction: 'up' | 'down' | 'hold';
  current: number | null;
  desired: number | null;
  rule: string;
  inputs: { backlog?: number; consumers?: number };
}

let dir: string;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;
const completed = new Map<string, number>();
let deadLettered = 0;
const controller = new AbortController();
const stdout = new CapturedStream();
const stderr = new CapturedStream();
let autoscaler: Promise<number> | undefined;

const decisions = (): DecisionLine[] =>
  stdout.text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DecisionLine);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}\nautoscaler stderr:\n${stderr.text}\ndecisions:\n${stdout.text.split('\n').slice(-10).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const running = async () => (await containerIdsOf(project, 'worker', false)).length;

beforeAll(async () => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  connection = await amqp.connect(BROKER);
  channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
  await channel.assertQueue(deadLetterQueueOf(queue), { durable: true });
  await channel.assertQueue(results, { durable: true });
  await channel.consume(results, (message) => {
    if (!message) return;
    const result = JSON.parse(message.content.toString()) as TaskResult;
    if (result.outcome === 'completed') completed.set(result.taskId, (completed.get(result.taskId) ?? 0) + 1);
    if (result.outcome === 'dead-lettered') deadLettered++;
    channel.ack(message);
  });
  expect(await qscale(dir, 'up')).toMatchObject({ code: 0 });
  await waitFor('the first worker to consume', async () => (await channel.checkQueue(queue)).consumerCount === 1, 30_000);
});

afterAll(async () => {
  controller.abort();
  await autoscaler?.catch(() => {});
  await removeProjectContainers(project);
  for (const name of [queue, deadLetterQueueOf(queue), quarantineQueueOf(queue), results]) await channel?.deleteQueue(name).catch(() => {});
  await connection?.close().catch(() => {});
});

describe('qscale autoscale against RabbitMQ and Docker', () => {
  it('scales a backlog burst up, drains it, scales back down after the cooldown, and loses no task', async () => {
    autoscaler = main(['node', 'qscale', 'autoscale', '--interval', '1s', '--json'], { ...realDependencies(), cwd: dir, stdout, stderr }, controller.signal);
    await waitFor('a first decision', () => decisions().length > 0, 15_000);
    expect(decisions()[0]).toMatchObject({ current: 1, direction: 'hold' });

    const sentAt = Date.now();
    for (let index = 0; index < TASKS; index++) {
      const task: TaskMessage = { id: `${project}-${index}`, sentAt, workMs: WORK_MS };
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(task)), { messageId: task.id, replyTo: results, persistent: true, contentType: 'application/json' });
    }

    // Up: 80 waiting / 10 per worker = 8, capped at max_replicas 4.
    await waitFor('a scale-up decision', () => decisions().some((decision) => decision.direction === 'up'), 20_000);
    const up = decisions().find((decision) => decision.direction === 'up')!;
    expect(up).toMatchObject({ current: 1, desired: 4, rule: 'max-replicas' });
    await waitFor('4 workers consuming', async () => (await channel.checkQueue(queue)).consumerCount === 4, 30_000);

    // Drain: every task completed exactly once, none dead-lettered.
    await waitFor('every task to complete', () => completed.size === TASKS, 60_000);

    // Down, after the cooldown and window: back to min_replicas, through the graceful stop.
    await waitFor('the scale-down to 1 running container', async () => (await running()) === 1 && decisions().some((decision) => decision.direction === 'down'), 60_000);
    const down = decisions().find((decision) => decision.direction === 'down')!;
    expect(down.desired).toBeLessThan(4);
    expect(Date.parse(down.time) - Date.parse(up.time)).toBeGreaterThanOrEqual(5_000); // scale_down_cooldown
    expect(stderr.text).toMatch(/worker: scaled 1 → 4/);

    controller.abort();
    expect(await autoscaler).toBe(130);
    expect(deadLettered).toBe(0);
    expect([...completed.values()].filter((count) => count > 1)).toEqual([]);
    expect(completed.size).toBe(TASKS);
    const final = await channel.checkQueue(queue);
    expect(final.messageCount).toBe(0);
    expect((await channel.checkQueue(deadLetterQueueOf(queue))).messageCount).toBe(0);
    expect(await containerIdsOf(project, 'worker', true)).toHaveLength(1); // removed, not just stopped
  });
});
