import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterQueueOf, quarantineQueueOf } from '../../templates/worker/src/protocol.js';
import { writeProject } from '../support/fixtures.js';
import { docker, qscale, uniqueName } from '../integration/support/real-cli.js';
import { brokerQueueCounts, CHAOS_BROKER_URL, deleteQueues, recordFault } from './support/chaos-broker.js';
import { expectBrokerSettled, sleep, TaskLedger, waitFor, watchContainerStops } from './support/task-ledger.js';

/**
 * The scale-in issue's Swarm row: `4 → 1` at 50 % of 2,000 tasks. Swarm picks the tasks to stop
 * itself (not idle-first); the workers still drain within their grace, so nothing is lost or
 * worked twice. A single-node swarm on this engine, initialised here and left unless one was
 * already there (as test/integration/swarm.test.ts does).
 */
const project = uniqueName('chaos-swarm-in');
const queue = `${project}.tasks`;
const resultsQueue = `${project}.results`;
const swarmService = `${project}_worker`;

const COMPOSE = `services:
  worker:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 10s
    environment:
      BROKER_URL: ${CHAOS_BROKER_URL}
      QUEUE: ${queue}
      RESULTS_QUEUE: ${resultsQueue}
      PREFETCH: "10"
      CONCURRENCY: "1"
      LOG_LEVEL: warn
`;

const CONFIG = `project:
  name: ${project}
system:
  backend: swarm
broker:
  url: ${CHAOS_BROKER_URL}
workers:
  worker:
    queue: ${queue}
    min_replicas: 0
    max_replicas: 4
`;

let dir: string;
let initialisedSwarm = false;
let ledger: TaskLedger;

async function scaleTo(count: number): Promise<number> {
  const startedAt = Date.now();
  const result = await qscale(dir, 'scale', 'worker', String(count));
  expect({ count, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ count, code: 0, stderr: '' });
  return Date.now() - startedAt;
}

beforeAll(async () => {
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) === 'inactive') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    initialisedSwarm = true;
  }
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  ledger = await TaskLedger.open(resultsQueue, [{ name: queue }]);
});

afterAll(async () => {
  await ledger?.close();
  await docker('service', 'rm', swarmService).catch(() => '');
  for (let i = 0; i < 50; i++) {
    if (!(await docker('ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${swarmService}`).catch(() => ''))) break;
    await sleep(200);
  }
  if (initialisedSwarm) await docker('swarm', 'leave', '--force');
  await deleteQueues(queue, quarantineQueueOf(queue), deadLetterQueueOf(queue), resultsQueue);
}, 120_000);

describe('scale-in on a Swarm', () => {
  it('4 → 1 at 50 % of 2,000 tasks: 0 lost, 0 duplicates, the 3 stopped tasks exit 0 within the grace', async () => {
    await scaleTo(4);
    // Swarm removes the task containers of a scale-in: their exit codes are taken from the engine's events.
    const stops = watchContainerStops(`com.docker.swarm.service.name=${swarmService}`);
    await waitFor('4 consumers', async () => (await brokerQueueCounts(queue))?.consumers === 4, 60_000);
    await ledger.publish(queue, 'swarm', 2000, { workMs: 20 });
    await waitFor('50 % done', () => ledger.counts('swarm').completed >= 1000, 60_000);
    const atScaleIn = ledger.counts('swarm').completed;
    const downMs = await scaleTo(1);
    await waitFor('every task done', () => ledger.counts('swarm').completed >= 2000, 120_000);
    await sleep(1000);
    const counts = ledger.counts('swarm');
    stops.stop();
    const exited = stops.stops;
    console.log(`swarm 4→1 at ${atScaleIn}/2000 in ${downMs} ms; exited tasks ${JSON.stringify(exited)}; ${JSON.stringify(counts)}`);
    // The scale-in landed while work remained (else it would prove nothing).
    expect(atScaleIn).toBeLessThan(1600);
    expect(counts).toMatchObject({ sent: 2000, completed: 2000, completedResults: 2000, duplicates: 0, deadLettered: 0, lost: 0 });
    // Each drained by itself (exit 0) before the 10 s grace.
    expect(exited.map((task) => task.exitCode)).toEqual([0, 0, 0]);
    expect(exited.filter((task) => task.stopMs === undefined || task.stopMs >= 10_000)).toEqual([]);
    expect((await brokerQueueCounts(queue))?.consumers).toBe(1);
    await expectBrokerSettled(queue, 0);
    recordFault({ fault: 'Swarm: scale 4→1 at 50 % of 2,000 tasks', sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: downMs / 1000, note: `scale-in at ${atScaleIn} done; redelivered ${counts.redelivered}; stopped tasks exit ${exited.map((task) => task.exitCode).join(',')}` });
  }, 240_000);
});
