import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskQueueArguments, type TaskMessage } from '../../templates/worker/src/protocol.js';
import { RabbitWorkerStateProbe } from '../../src/adapters/rabbitmq/worker-state-probe.js';
import { writeProject } from '../support/fixtures.js';
import { expectConsumers, qscale, removeProjectContainers, uniqueName, workerComposeService } from './support/real-cli.js';

const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
const project = uniqueName('it-idle');
const queue = `${project}.tasks`;
let dir: string;

beforeAll(() => {
  const compose = `version: "2.4"\nservices:\n${workerComposeService(queue).replace('PREFETCH: "10"', 'PREFETCH: "1"')}`;
  dir = writeProject({ 'docker-compose.yml': compose, 'test-config.yml': `project:\n  name: ${project}\nbroker:\n  url: ${BROKER_URL}\nworkers:\n  worker:\n    queue: ${queue}\n    max_replicas: 4\n` });
});

afterAll(async () => {
  await removeProjectContainers(project);
  const connection = await amqp.connect(BROKER_URL);
  const channel = await connection.createChannel();
  await channel.deleteQueue(queue).catch(() => {});
  await connection.close();
});

describe('workers report their state', () => {
  it('ps shows each worker idle or busy, and a dry-run scale-in names the idle ones first', async () => {
    expect((await qscale(dir, 'scale', 'worker', '3')).code).toBe(0);
    await expectConsumers(BROKER_URL, queue, 3);
    const idle = JSON.parse((await qscale(dir, 'ps', '--json')).stdout) as Array<{ name: string; work: string }>;
    expect(idle.map((row) => row.work)).toEqual(['idle', 'idle', 'idle']);

    const connection = await amqp.connect(BROKER_URL);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
      const task: TaskMessage = { id: `${project}-long`, sentAt: Date.now(), workMs: 4000 };
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(task)), { messageId: task.id, persistent: true });
      await channel.waitForConfirms();
      let rows = idle;
      for (let attempt = 0; attempt < 30 && !rows.some((row) => row.work === 'busy 1'); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rows = JSON.parse((await qscale(dir, 'ps', '--json')).stdout);
      }
      expect(rows.map((row) => row.work).sort()).toEqual(['busy 1', 'idle', 'idle']);
      const table = (await qscale(dir, 'ps')).stdout;
      expect(table).toMatch(/WORK/);
      const busy = rows.find((row) => row.work === 'busy 1')!.name;
      const plan = await qscale(dir, 'scale', 'worker', '1', '--dry-run');
      expect(plan.code).toBe(0);
      const stopped = plan.stdout.split('\n').filter((line) => line.trim().startsWith('stop'));
      expect(stopped).toHaveLength(2);
      expect(stopped.every((line) => line.endsWith('(idle first)'))).toBe(true);
      expect(plan.stdout).not.toContain(busy);
    } finally {
      await connection.close();
    }
  }, 60_000);
});

describe('RabbitWorkerStateProbe on the real broker', () => {
  it('stops waiting when nobody answers at all, instead of waiting out its whole wait', async () => {
    const probe = new RabbitWorkerStateProbe('amqp://guest:guest@127.0.0.1:5672', { waitMs: 60_000, firstAnswerMs: 100 });
    const snapshot = await Promise.race([
      probe.probe(['ffffffffffff0000000000000000000000000000000000000000000000000000']),
      new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 20_000).unref()),
    ]);
    expect(snapshot).toEqual({ states: new Map() });
  });
});
