import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABANDONED_HEADER, deadLetterQueueOf, INTERRUPTED_HEADER, quarantineQueueOf } from '../../templates/worker/src/protocol.js';
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
const longQueue = `${project}.long`;
const longSwarmService = `${project}_long`;

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
  long:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    environment:
      BROKER_URL: ${CHAOS_BROKER_URL}
      QUEUE: ${longQueue}
      RESULTS_QUEUE: ${resultsQueue}
      PREFETCH: "1"
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
  long:
    queue: ${longQueue}
    min_replicas: 0
    max_replicas: 1
`;

let dir: string;
let initialisedSwarm = false;
let ledger: TaskLedger;

async function scaleTo(count: number, service = 'worker'): Promise<number> {
  const startedAt = Date.now();
  const result = await qscale(dir, 'scale', service, String(count));
  expect({ count, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ count, code: 0, stderr: '' });
  return Date.now() - startedAt;
}

beforeAll(async () => {
  if ((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')) === 'inactive') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    initialisedSwarm = true;
  }
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  ledger = await TaskLedger.open(resultsQueue, [{ name: queue }, { name: longQueue }]);
});

afterAll(async () => {
  await ledger?.close();
  for (const name of [swarmService, longSwarmService]) await docker('service', 'rm', name).catch(() => '');
  for (let i = 0; i < 50; i++) {
    if (!(await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${project}`).catch(() => ''))) break;
    await sleep(200);
  }
  if (initialisedSwarm) await docker('swarm', 'leave', '--force');
  await deleteQueues(...[queue, longQueue].flatMap((name) => [name, quarantineQueueOf(name), deadLetterQueueOf(name)]), resultsQueue);
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
    // The stopped ones had been working (their results name them), so the scale-in cut into real work.
    const workers = new Set(ledger.of('swarm').map((result) => result.workerId));
    expect(exited.filter((task) => !workers.has(task.id))).toEqual([]);
    expect((await brokerQueueCounts(queue))?.consumers).toBe(1);
    await expectBrokerSettled(queue, 0);
    recordFault({ fault: 'Swarm: scale 4→1 at 50 % of 2,000 tasks', sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: downMs / 1000, note: `scale-in at ${atScaleIn} done; redelivered ${counts.redelivered}; stopped tasks exit ${exited.map((task) => task.exitCode).join(',')}` });
  }, 240_000);
  it('a 30 s task under a 5 s grace: the stopped task hands it back (interrupted, not abandoned) before Swarm\'s SIGKILL', async () => {
    await scaleTo(1, 'long');
    const stops = watchContainerStops(`com.docker.swarm.service.name=${longSwarmService}`);
    try {
      await waitFor('1 consumer', async () => (await brokerQueueCounts(longQueue))?.consumers === 1, 60_000);
      await ledger.publish(longQueue, 'long', 1, { workMs: 30_000 });
      await waitFor('the task taken', async () => (await brokerQueueCounts(longQueue))?.unacked === 1, 10_000);
      const downMs = await scaleTo(0, 'long');
      await waitFor('the stopped task reported', () => stops.stops.length >= 1, 10_000);
      const [victim] = stops.stops;
      // The broker holds the task again, flagged as handed back by a drain: no loss, and no crash counted against it.
      await waitFor('the task back in the queue', async () => (await brokerQueueCounts(longQueue))?.ready === 1, 10_000);
      const [headers] = await ledger.drainHeaders(longQueue);
      console.log(`swarm 30 s task, grace 5 s: scale 1→0 in ${downMs} ms; victim ${JSON.stringify(victim)}; headers ${JSON.stringify(headers)}`);
      // Exit 1 is the worker's own "drain ran out, handed back"; 137 would be Swarm's SIGKILL at the grace.
      expect(victim.exitCode).toBe(1);
      expect(victim.stopMs).toBeLessThan(5000);
      expect(headers).toMatchObject({ [INTERRUPTED_HEADER]: 1 });
      expect(headers[ABANDONED_HEADER]).toBeUndefined();
      expect(ledger.of('long')).toEqual([]);
      await expectBrokerSettled(longQueue, 0);
      recordFault({ fault: 'Swarm: 30 s task, grace 5 s, scale 1→0', sent: 1, lost: 0, unconfirmed: 0, recovered: 0, duplicates: 0, recoverySeconds: downMs / 1000, note: `handed back (interrupted 1); task exit ${victim.exitCode} after ${((victim.stopMs ?? 0) / 1000).toFixed(1)} s` });
    } finally {
      stops.stop();
    }
  }, 120_000);
});
