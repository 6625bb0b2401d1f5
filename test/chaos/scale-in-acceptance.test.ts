import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { deadLetterQueueOf, quarantineQueueOf } from '../../templates/worker/src/protocol.js';
import { CapturedStream } from '../support/cli-harness.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, qscale, removeProjectContainers, uniqueName } from '../integration/support/real-cli.js';
import { brokerQueueCounts, CHAOS_BROKER_URL, CHAOS_MANAGEMENT_URL, deleteQueues, recordFault } from './support/chaos-broker.js';
import { expectBrokerSettled, sleep, TaskLedger, waitFor, watchContainerStops } from './support/task-ledger.js';

/**
 * The scale-in issue's remaining acceptance rows on Compose: a task longer than the grace, 2↔4
 * scale-ins during a long run on a quorum queue, and `qscale autoscale` under a square-wave load.
 * Real worker containers on the chaos broker; every figure is checked against the broker itself.
 */
const project = uniqueName('chaos-scale-accept');
const longQueue = `${project}.long`;
const churnQueue = `${project}.churn`;
const autoQueue = `${project}.auto`;
const resultsQueue = `${project}.results`;

const worker = (service: string, queue: string, grace: string, env: Record<string, string>) => `  ${service}:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: ${grace}
    environment:
      BROKER_URL: ${CHAOS_BROKER_URL}
      QUEUE: ${queue}
      RESULTS_QUEUE: ${resultsQueue}
      LOG_LEVEL: warn
${Object.entries(env).map(([key, value]) => `      ${key}: "${value}"`).join('\n')}
`;

const COMPOSE = `version: "2.4"
services:
${worker('long', longQueue, '5s', { PREFETCH: '1', CONCURRENCY: '1' })}${worker('churn', churnQueue, '10s', { PREFETCH: '10', CONCURRENCY: '1', QUEUE_TYPE: 'quorum' })}${worker('auto', autoQueue, '10s', { PREFETCH: '10', CONCURRENCY: '1' })}`;

const CONFIG = `project:
  name: ${project}
broker:
  url: ${CHAOS_BROKER_URL}
  management_url: ${CHAOS_MANAGEMENT_URL}
workers:
  long:
    queue: ${longQueue}
    min_replicas: 0
    max_replicas: 2
    autoscale:
      enabled: false
  churn:
    queue: ${churnQueue}
    queue_type: quorum
    min_replicas: 0
    max_replicas: 4
    autoscale:
      enabled: false
  auto:
    queue: ${autoQueue}
    min_replicas: 1
    max_replicas: 4
    initial_replicas: 1
    autoscale:
      target_backlog_per_worker: 20
      scale_up_cooldown: 2s
      scale_down_cooldown: 4s
      stabilization_window: 4s
`;

let dir: string;
let ledger: TaskLedger;

async function scaleTo(service: string, count: number): Promise<number> {
  const startedAt = Date.now();
  const result = await qscale(dir, 'scale', service, String(count));
  expect({ service, count, code: result.code, errors: result.stderr.split('\n').filter((line) => line.startsWith('error')) }).toEqual({ service, count, code: 0, errors: [] });
  return Date.now() - startedAt;
}

const consumersOf = async (queue: string) => (await brokerQueueCounts(queue))?.consumers ?? 0;

beforeAll(async () => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  ledger = await TaskLedger.open(resultsQueue, [{ name: longQueue }, { name: churnQueue, type: 'quorum' }, { name: autoQueue }]);
});

afterAll(async () => {
  await ledger?.close();
  await removeProjectContainers(project);
  await deleteQueues(...[longQueue, churnQueue, autoQueue].flatMap((name) => [name, quarantineQueueOf(name), deadLetterQueueOf(name)]), resultsQueue);
});

describe('scale-in acceptance (Compose)', () => {
  it('30 s task, grace 5 s, scale 2 → 1 with both workers busy: the victim hands its task back before SIGKILL; 0 lost, counted redelivered, 0 duplicates', async () => {
    const stops = watchContainerStops(`com.docker.compose.service=long`);
    try {
      await scaleTo('long', 2);
      await waitFor('2 consumers', async () => (await consumersOf(longQueue)) === 2, 30_000);
      await ledger.publish(longQueue, 'long', 2, { workMs: 30_000 });
      await waitFor('both 30 s tasks taken', async () => (await brokerQueueCounts(longQueue))?.unacked === 2, 10_000);
      // Both are busy, so the victim (the highest number) holds a 30 s task.
      const downMs = await scaleTo('long', 1);
      await waitFor('the victim to be reported dead', () => stops.stops.length >= 1, 10_000);
      // The handed-back task would wait for the survivor's 30 s; a new worker takes it at once.
      await scaleTo('long', 2);
      await waitFor('both tasks done', () => ledger.counts('long').completed >= 2, 60_000);
      await sleep(1000);
      const counts = ledger.counts('long');
      const victim = stops.stops[0];
      console.log(`30 s task, grace 5 s: scale 2→1 in ${downMs} ms; victim ${JSON.stringify(victim)}; ${JSON.stringify(counts)}`);
      // Exit 1 is the worker's own "drain ran out, handed back" exit; 137 would be the engine's SIGKILL.
      expect(victim.exitCode).toBe(1);
      expect(victim.stopMs).toBeLessThan(5000);
      expect(downMs).toBeLessThan(5000 + 3000);
      expect(counts).toMatchObject({ sent: 2, completed: 2, completedResults: 2, duplicates: 0, deadLettered: 0, lost: 0, redelivered: 1 });
      expect(ledger.of('long').length).toBe(2); // no other result (retrying, dead-lettered) for either task
      await expectBrokerSettled(longQueue, 0);
      recordFault({ fault: '30 s task, grace 5 s, scale 2→1 (victim busy)', sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: downMs / 1000, note: `redelivered ${counts.redelivered}; victim exit ${victim.exitCode} after ${((victim.stopMs ?? 0) / 1000).toFixed(1)} s` });
    } finally {
      stops.stop();
      await scaleTo('long', 0);
    }
  }, 120_000);

  it('scale-ins 2 ↔ 4 during a long run of short tasks on a quorum queue: 0 innocent tasks dead-lettered, 0 lost, 0 duplicates', async () => {
    const stops = watchContainerStops(`com.docker.compose.service=churn`);
    const budgetMs = 100_000;
    const wantedRoundTrips = 50;
    let publishing = true;
    let published = 0;
    // 30 ms tasks at about 80/s: more than 2 workers do, less than 4 do, so every worker holds prefetched work when it is stopped.
    const publisher = (async () => {
      while (publishing) {
        await ledger.publish(churnQueue, 'churn', 8, { workMs: 30 }, published);
        published += 8;
        await sleep(100);
      }
    })();
    let roundTrips = 0;
    const startedAt = Date.now();
    try {
      await scaleTo('churn', 2);
      while (roundTrips < wantedRoundTrips && Date.now() - startedAt < budgetMs) {
        await scaleTo('churn', 4);
        await scaleTo('churn', 2);
        roundTrips++;
      }
    } finally {
      publishing = false;
      await publisher;
    }
    await waitFor('every task to have an outcome', () => ledger.counts('churn').lost === 0, 60_000).catch(() => {});
    await sleep(1000);
    stops.stop();
    const counts = ledger.counts('churn');
    const seconds = (Date.now() - startedAt) / 1000;
    const badExits = stops.stops.filter((stop) => stop.exitCode !== 0);
    // The drained workers took part: each had results of its own (else the scale-ins would prove nothing).
    const workersWithResults = new Set(ledger.of('churn').map((result) => result.workerId));
    const victimsThatWorked = stops.stops.filter((stop) => workersWithResults.has(stop.id)).length;
    console.log(`churn: ${roundTrips} round trips (${roundTrips} scale-ins 4→2) in ${seconds.toFixed(0)} s; ${stops.stops.length} workers stopped (${victimsThatWorked} had worked), non-zero exits ${JSON.stringify(badExits)}; ${JSON.stringify(counts)}`);
    expect(roundTrips).toBeGreaterThanOrEqual(15);
    expect(counts).toMatchObject({ sent: published, completed: published, duplicates: 0, deadLettered: 0, lost: 0 });
    expect(stops.stops).toHaveLength(roundTrips * 2);
    expect(badExits).toEqual([]);
    expect(victimsThatWorked).toBeGreaterThanOrEqual(roundTrips);
    await expectBrokerSettled(churnQueue, 0);
    await scaleTo('churn', 0);
    recordFault({ fault: `${roundTrips} round trips 2→4→2 during a run (${roundTrips * 2} workers drained, ${victimsThatWorked} had worked), quorum queue`, sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: null, note: `dead-lettered ${counts.deadLettered}; redelivered ${counts.redelivered}; result messages ${counts.completedResults}` });
  }, 240_000);
  it('qscale autoscale under a square-wave load (2 minutes; the issue says 5): 0 lost, 0 duplicates, every scale-in exits 0 within the grace', async () => {
    // The issue's figure is 5 minutes; 2 keep the suite within its budget (QSCALE_CHAOS_SQUARE_WAVE_S=300 runs the issue's).
    const SQUARE_WAVE_MS = Number(process.env.QSCALE_CHAOS_SQUARE_WAVE_S ?? 120) * 1000;
    const HALF_PERIOD_MS = 15_000;
    const stops = watchContainerStops(`com.docker.compose.service=auto`);
    const controller = new AbortController();
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    let autoscaler: Promise<number> | undefined;
    const runningWorkers = async () => (await containerIdsOf(project, 'auto', false)).length;
    try {
      await scaleTo('auto', 1);
      autoscaler = main(['node', 'qscale', 'autoscale', 'auto', '--interval', '1s', '--json'], { ...realDependencies(), cwd: dir, stdout, stderr }, controller.signal);
      // 20 ms tasks: one worker does about 45/s. High: 150/s for 15 s (4 workers needed); low: 10/s for 15 s (1 is plenty).
      const startedAt = Date.now();
      let published = 0;
      let highest = 1;
      while (Date.now() - startedAt < SQUARE_WAVE_MS) {
        const high = Math.floor((Date.now() - startedAt) / HALF_PERIOD_MS) % 2 === 0;
        const batch = high ? 15 : 1;
        await ledger.publish(autoQueue, 'auto', batch, { workMs: 20 }, published);
        published += batch;
        highest = Math.max(highest, await runningWorkers());
        await sleep(100);
      }
      await waitFor('every task done', () => ledger.counts('auto').completed >= published, 60_000);
      // The last low phase's scale-in back to min_replicas belongs to the run.
      await waitFor('the autoscaler back at 1 worker', async () => (await runningWorkers()) === 1, 30_000).catch(() => {});
      controller.abort();
      expect(await autoscaler).toBe(130);
      await sleep(1000);
      const counts = ledger.counts('auto');
      const decisions = stdout.text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { direction: string });
      const scaleIns = decisions.filter((decision) => decision.direction === 'down').length;
      const slowest = Math.max(...stops.stops.map((stop) => stop.stopMs ?? Infinity));
      console.log(`autoscale square wave ${SQUARE_WAVE_MS / 1000} s: ${published} tasks, up to ${highest} workers, ${scaleIns} scale-in decisions, ${stops.stops.length} workers stopped (slowest ${slowest} ms), exits ${JSON.stringify(stops.stops.map((stop) => stop.exitCode))}; ${JSON.stringify(counts)}`);
      expect(counts).toMatchObject({ sent: published, completed: published, completedResults: published, duplicates: 0, deadLettered: 0, lost: 0 });
      expect(highest).toBeGreaterThanOrEqual(3);
      // At least one scale-in per low phase, each one a drain that ended by itself (exit 0) before the 10 s grace.
      expect(stops.stops.length).toBeGreaterThanOrEqual(SQUARE_WAVE_MS / HALF_PERIOD_MS / 2);
      expect(stops.stops.filter((stop) => stop.exitCode !== 0 || stop.stopMs === undefined || stop.stopMs >= 10_000)).toEqual([]);
      // Removed, not just stopped: no exited container is left.
      expect((await containerIdsOf(project, 'auto', true)).length).toBe(await runningWorkers());
      await expectBrokerSettled(autoQueue, 0);
      recordFault({ fault: `qscale autoscale, square wave 150/s ↔ 10/s for ${SQUARE_WAVE_MS / 1000} s`, sent: counts.sent, lost: counts.lost, unconfirmed: 0, recovered: 0, duplicates: counts.duplicates, recoverySeconds: null, note: `${stops.stops.length} workers removed, all exit 0, slowest stop ${(slowest / 1000).toFixed(1)} s of 10 s; up to ${highest} workers` });
    } finally {
      controller.abort();
      await autoscaler?.catch(() => {});
      stops.stop();
      console.log(`autoscaler stderr (last lines):\n${stderr.text.split('\n').slice(-15).join('\n')}`);
    }
  }, 600_000);
});
