import { describe, expect, it } from 'vitest';
import type { WorkerService } from '../../../src/core/config/qscale-config.js';
import type { FleetEvent } from '../../../src/core/events.js';
import { scaleService, type ScaleDependencies } from '../../../src/core/scale/scale-service.js';
import { LOCK_LABEL, LOCK_STALE_MS, processLockOwner } from '../../../src/core/scale/service-lock.js';
import { QscaleError } from '../../../src/core/errors.js';
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

function setup() {
  // The fake clock moves only when the code under test sleeps.
  const clock = { at: NOW };
  const now = () => clock.at;
  const engine = new FakeEngine(now, ['demo/worker:1']);
  const events: FleetEvent[] = [];
  const deps: ScaleDependencies = {
    engine,
    clock: {
      now,
      sleep: async (ms: number) => {
        clock.at += ms;
      },
    },
    onEvent: (event) => events.push(event),
    lockOwner: processLockOwner('host', 1, (pid) => pid !== 999),
  };
  return { engine, events, deps, clock };
}

/** worker-a: stop grace 10 s (the default) × max_replicas 8. */
const LONGEST_STOP_MS = 10_000 * 8;

async function rejection(promise: Promise<unknown>): Promise<QscaleError> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(QscaleError);
  return error as QscaleError;
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

  it('takes over a lock whose owner is gone (another pid, or an ended run of this one), or from another host older than LOCK_STALE_MS + grace × replicas', async () => {
    for (const [owner, since] of [['host:999:1', NOW], ['host:1:7', NOW], ['elsewhere:5:1', NOW - LOCK_STALE_MS - LONGEST_STOP_MS - 1]] as const) {
      const { engine, deps } = setup();
      engine.seed('demo-worker-a-qscale-lock', { [LOCK_LABEL]: 'demo/worker-a', 'io.qscale.lock.owner': owner, 'io.qscale.lock.since': String(since) }, 'created');
      await scaleService(deps, { worker, desired: 2 }, options);
      expect(engine.names()).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    }
  });

  it('waits LOCK_WAIT_MS for a live owner, then gives up saying who holds it and how to remove it; nothing changed', async () => {
    // Another host's run past LOCK_STALE_MS, but its service's grace (60 s × 8 replicas) keeps it
    // under its limit for the whole wait: it may still be stopping containers.
    const slow = { ...worker, definition: { ...worker.definition, stopGracePeriodMs: 60_000 } };
    for (const [owner, since] of [['host:2:1', NOW], ['elsewhere:5:1', NOW - LOCK_STALE_MS - 1]] as const) {
      const { engine, deps, events, clock } = setup();
      engine.seed('demo-worker-a-qscale-lock', { [LOCK_LABEL]: 'demo/worker-a', 'io.qscale.lock.owner': owner, 'io.qscale.lock.since': String(since) }, 'created');
      const error = await rejection(scaleService(deps, { worker: slow, desired: 2 }, options));
      expect([error.code, error.message, error.hint]).toEqual(['DOCKER_FAILED', `worker-a: another qscale run (${owner}) has been changing it for over 5 minutes; nothing changed`, 'if no such run exists, remove the lock: docker rm demo-worker-a-qscale-lock']);
      expect(clock.at - NOW).toBeGreaterThan(5 * 60_000);
      expect(clock.at - NOW).toBeLessThan(5 * 60_000 + 1_000);
      expect(engine.names()).toEqual(['demo-worker-a-qscale-lock']);
      expect(events.filter((event) => event.type === 'notice')).toEqual([{ type: 'notice', service: 'worker-a', message: `waiting for another qscale run (${owner}) that is changing worker-a` }]);
    }
  });

  it('retries a lock it could not create once, then goes on without it and says why', async () => {
    for (const failures of [1, 2]) {
      const { engine, deps, events } = setup();
      let left = failures;
      const create = engine.createContainer.bind(engine);
      engine.createContainer = async (spec) => {
        if (spec.labels[LOCK_LABEL] && left-- > 0) throw new Error('no space left on device');
        return create(spec);
      };
      await scaleService(deps, { worker, desired: 2 }, options);
      expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
      const notices = events.filter((event) => event.type === 'notice');
      if (failures === 1) expect([notices, engine.lockCalls]).toEqual([[], ['lock demo-worker-a-qscale-lock', 'unlock demo-worker-a-qscale-lock']]);
      else
        expect([notices, engine.lockCalls]).toEqual([
          [{ type: 'notice', service: 'worker-a', message: 'going on without the lock demo-worker-a-qscale-lock (another qscale run may change worker-a at the same time): creating it failed: no space left on device' }],
          [],
        ]);
    }
  });

  it('takes no lock for a run that changes nothing', async () => {
    const { engine, deps } = setup();
    await scaleService(deps, { worker, desired: 0 }, options);
    expect(engine.lockCalls).toEqual([]);
  });
});
