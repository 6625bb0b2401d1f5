import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ABANDONED_HEADER, DEAD_LETTER_REASON_HEADER, deadLetterQueueOf, quarantineQueueOf } from '../../templates/worker/src/protocol.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, docker, qscale, removeProjectContainers, uniqueName } from '../integration/support/real-cli.js';
import { brokerQueueCounts, CHAOS_BROKER_URL, deleteQueues, recordFault } from './support/chaos-broker.js';
import { expectBrokerSettled, sleep, TaskLedger, waitFor } from './support/task-ledger.js';

/**
 * The restart policy of the demo fleet (docker-compose.yml) and of `qscale init`'s fleet
 * (templates/project/docker-compose.yml), tried on the files themselves: each is merged with a
 * small override that points worker-a at the chaos broker and a queue of this test's own. A task
 * that SIGKILLs its worker brings the container back (on-failure) and ends dead-lettered after at
 * most 3 deliveries; a drained worker (docker stop) exits 0 and stays stopped.
 */
const REPO = path.resolve(import.meta.dirname, '../..');
const fleets = [
  { name: 'demo', composeFile: path.join(REPO, 'docker-compose.yml') },
  { name: 'init', composeFile: path.join(REPO, 'templates/project/docker-compose.yml') },
];
const cleanups: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('crashed workers come back; drained ones stay stopped', () => {
  for (const fleet of fleets) {
    it(`${fleet.name} fleet: restart on-failure; a crash task ends dead-lettered after ≤ 3 deliveries; docker stop exits 0 and never restarts`, async () => {
      const project = uniqueName(`chaos-restart-${fleet.name}`);
      const queue = `${project}.tasks`;
      const resultsQueue = `${project}.results`;
      // The template names its image after the project ({{PROJECT}}-worker:local); the override runs the image make build made.
      const template = readFileSync(fleet.composeFile, 'utf8').replaceAll('{{PROJECT}}', project);
      const dir = writeProject({
        'test-config.yml': `workers:\n  worker-a:\n    queue: ${queue}\n    min_replicas: 0\n    max_replicas: 1\n`,
        'override.yml': `services:\n  worker-a:\n    image: qscale/worker:local\n    environment:\n      BROKER_URL: ${CHAOS_BROKER_URL}\n      QUEUE: ${queue}\n      RESULTS_QUEUE: ${resultsQueue}\n      LOG_LEVEL: warn\n`,
      });
      const composeFile = path.join(dir, 'fleet.yml');
      writeFileSync(composeFile, template);
      // -p: the demo's .env names the project "qscale", which is the real demo fleet's.
      const run = (...args: string[]) => qscale(dir, '-p', project, '-f', composeFile, '-f', path.join(dir, 'override.yml'), ...args);
      const ledger = await TaskLedger.open(resultsQueue, [{ name: queue }]);
      cleanups.push(async () => {
        await ledger.close();
        await removeProjectContainers(project);
        await deleteQueues(queue, quarantineQueueOf(queue), deadLetterQueueOf(queue), resultsQueue);
      });

      const up = await run('scale', 'worker-a', '1');
      expect(up.code, up.stderr).toBe(0);
      const [id] = await containerIdsOf(project, 'worker-a');
      const policy = await docker('inspect', id, '--format', '{{.HostConfig.RestartPolicy.Name}}');
      expect(policy).toBe('on-failure');
      await waitFor('the worker consuming', async () => (await brokerQueueCounts(queue))?.consumers === 1, 30_000);

      // 1 crash task among 40 innocent ones, all prefetched by the one worker (PREFETCH 10 in the fleet file).
      await ledger.publish(queue, 'innocent', 20, { workMs: 20 });
      await ledger.publish(queue, 'crash', 1, { workMs: 10, crashRate: 1 });
      await ledger.publish(queue, 'innocent', 20, { workMs: 20 }, 20);
      const tookMs = await waitFor('the crash task dead-lettered and every innocent one completed', () => ledger.counts('crash').deadLettered === 1 && ledger.counts('innocent').completed === 40, 90_000);
      await sleep(1000);
      const crash = ledger.of('crash');
      const innocent = ledger.counts('innocent');
      const restarts = Number(await docker('inspect', id, '--format', '{{.RestartCount}}'));
      const state = await docker('inspect', id, '--format', '{{.State.Status}}');
      console.log(`${fleet.name} fleet: crash task ${JSON.stringify(crash.map(({ outcome, error }) => ({ outcome, error })))}; container restarted ${restarts}×, now ${state}; innocent ${JSON.stringify(innocent)}; ${tookMs} ms`);
      expect(policy).toBe('on-failure');
      expect(restarts).toBeGreaterThanOrEqual(1);
      expect(restarts).toBeLessThanOrEqual(3);
      expect(state).toBe('running');
      expect(crash).toEqual([expect.objectContaining({ outcome: 'dead-lettered', error: 'worker crashed' })]);
      expect(innocent).toMatchObject({ sent: 40, completed: 40, completedResults: 40, duplicates: 0, deadLettered: 0, lost: 0 });
      await expectBrokerSettled(queue, 1);
      // The broker's copy says why and how often: each delivery that ran it killed the worker, at most 3.
      const [dead] = await ledger.drainHeaders(deadLetterQueueOf(queue));
      expect(dead).toMatchObject({ [DEAD_LETTER_REASON_HEADER]: 'worker crashed', [ABANDONED_HEADER]: restarts });

      // A drain (docker stop: SIGTERM) ends with exit 0, and the engine leaves the container stopped.
      await docker('stop', id);
      await sleep(3000);
      const stopped = (await docker('inspect', id, '--format', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}')).split(' ');
      expect(stopped).toEqual(['exited', '0', String(restarts)]);
      recordFault({ fault: `${fleet.name} fleet: 1 crash task among 40 (restart on-failure)`, sent: 41, lost: innocent.lost, unconfirmed: 0, recovered: 0, duplicates: innocent.duplicates, recoverySeconds: tookMs / 1000, note: `crash task dead-lettered after ${restarts} deliveries, each a crash; container restarted ${restarts}×; docker stop: exit 0, not restarted` });
    }, 150_000);
  }
});
