import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueOf, quarantineQueueOf, taskQueueArguments } from '../../templates/worker/src/protocol.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, docker, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

const BROKER = 'amqp://guest:guest@127.0.0.1:5672';
const project = uniqueName('it-autoscale-triggers');
const queue = `${project}.tasks`;
const results = `${project}.results`;

let server: Server;
let requests = 0;
let connection: amqp.ChannelModel;
let channel: amqp.Channel;

/** The project: one worker under a 256 MiB limit, a custom metric served here on 127.0.0.1. */
function writeTriggerProject(port: number): string {
  return writeProject({
    'docker-compose.yml': `version: "2.4"
services:
  worker:
    image: qscale/worker:local
    network_mode: host
    init: true
    mem_limit: 256m
    environment:
      BROKER_URL: ${BROKER}
      QUEUE: ${queue}
      RESULTS_QUEUE: ${results}
      TASK_MS: "10"
`,
    'test-config.yml': `project:
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
      memory_target_percent: 90
      custom_metric:
        url: http://127.0.0.1:${port}/metrics
        target: 20
        path: jobs_waiting{queue="${queue}"}
`,
  });
}

beforeAll(async () => {
  server = createServer((_request, response) => {
    requests++;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# TYPE jobs_waiting gauge\njobs_waiting{queue="${queue}"} 70\njobs_waiting{queue="other"} 500\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  connection = await amqp.connect(BROKER);
  channel = await connection.createChannel();
  await channel.assertQueue(queue, { durable: true, arguments: taskQueueArguments(queue) });
});

afterAll(async () => {
  await removeProjectContainers(project);
  for (const name of [queue, deadLetterQueueOf(queue), quarantineQueueOf(queue), results]) await channel?.deleteQueue(name).catch(() => {});
  await connection?.close().catch(() => {});
  await new Promise((resolve) => server?.close(resolve));
});

describe('autoscale triggers against the real engine', () => {
  it('reads memory from Docker stats (usage ÷ the 256 MiB limit) and a Prometheus custom metric; the highest recommendation wins', async () => {
    const dir = writeTriggerProject((server.address() as AddressInfo).port);
    expect(await qscale(dir, 'up')).toMatchObject({ code: 0 });
    const [id] = await containerIdsOf(project, 'worker', false);
    expect(id).toBeDefined();

    const run = await qscale(dir, 'autoscale', '--once', '--dry-run', '--json');
    expect(run.code, run.stderr).toBe(0);
    const decision = JSON.parse(run.stdout.trim().split('\n')[0]) as { desired: number; rule: string; inputs: { memoryPercent?: number; customMetric?: number } };
    expect(requests).toBeGreaterThanOrEqual(1);
    // jobs_waiting{queue=…} 70 ÷ 20 per worker → 4; memory 90 % asks for 1.
    expect(decision.inputs.customMetric).toBe(70);
    expect(decision).toMatchObject({ desired: 4, rule: 'custom-metric' });
    // Cross-checked against docker stats' own figure for the container (the worker's use moves a little).
    const dockerPercent = Number((await docker('stats', '--no-stream', '--format', '{{.MemPerc}}', id)).replace('%', ''));
    expect(decision.inputs.memoryPercent).toBeGreaterThan(0);
    expect(decision.inputs.memoryPercent).toBeLessThan(90);
    expect(Math.abs(decision.inputs.memoryPercent! - dockerPercent)).toBeLessThan(3);
  }, 90_000);
});
