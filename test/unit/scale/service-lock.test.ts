import { describe, expect, it } from 'vitest';
import type { WorkerService } from '../../../src/core/config/qscale-config.js';
import type { FleetEvent } from '../../../src/core/events.js';
import { scaleService, type ScaleDependencies } from '../../../src/core/scale/scale-service.js';
import { LOCK_LABEL, LOCK_STALE_MS, processLockOwner } from '../../../src/core/scale/service-lock.js';
import { FakeEngine } from '../../support/fake-engine.js';

const NOW = 1_700_000_000_000;
const project = { name: 'demo', workingDir: '/srv/demo', configFiles: ['/srv/demo/docker-compose.yml'] };
const options = { project, maxWorkersPerQueue: 10 };
const worker: WorkerService = {
  name: 'worker-a',
  queue: 'q',
  minReplicas: 0,
  maxReplicas: 8,
  initialReplicas: 1,
  definition: { name: 'worker-a', image: 'demo/worker:1', hasBuild: true, environment: {}, labels: {}, networkMode: 'host', binds: [], ports: [], profiles: [] },
};

function setup(now = () => NOW) {
  const engine = new FakeEngine(now, ['demo/worker:1']);
  const events: FleetEvent[] = [];
  const deps: ScaleDependencies = {
    engine,
    clock: { now, sleep: async () => {} },
    onEvent: (event) => events.push(event),
    lockOwner: processLockOwner('host', 1, (pid) => pid !== 999),
  };
  return { engine, events, deps };
}

describe('one run at a time per service', () => {
  it('two runs asking for different counts both succeed, one after the other, and the later count stands', async () => {
    const { engine, deps, events } = setup();
    const [four, one] = await Promise.all([scaleService(deps, { worker, desired: 4 }, options), scaleService(deps, { worker, desired: 1 }, options)]);
    expect([four.after, one.after]).toEqual([4, 1]);
    expect(engine.names('running')).toEqual(['demo-worker-a-1']);
    expect(engine.names()).toEqual(['demo-worker-a-1']);
    expect(engine.lockCalls).toEqual(['lock demo-worker-a-qscale-lock', 'unlock demo-worker-a-qscale-lock', 'lock demo-worker-a-qscale-lock', 'unlock demo-worker-a-qscale-lock']);
    expect(events).toContainEqual({ type: 'notice', service: 'worker-a', message: 'waiting for another qscale run (host:1:1) that is changing worker-a' });
  });

  it('takes over a lock whose owner is gone (another pid, or an ended run of this one), or that is older than LOCK_STALE_MS', async () => {
    for (const [owner, since] of [['host:999:1', NOW], ['host:1:7', NOW], ['elsewhere:5:1', NOW - LOCK_STALE_MS - 1]] as const) {
      const { engine, deps } = setup();
      engine.seed('demo-worker-a-qscale-lock', { [LOCK_LABEL]: 'demo/worker-a', 'io.qscale.lock.owner': owner, 'io.qscale.lock.since': String(since) }, 'created');
      await scaleService(deps, { worker, desired: 2 }, options);
      expect(engine.names()).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    }
  });

  it('takes no lock for a run that changes nothing', async () => {
    const { engine, deps } = setup();
    await scaleService(deps, { worker, desired: 0 }, options);
    expect(engine.lockCalls).toEqual([]);
  });
});
