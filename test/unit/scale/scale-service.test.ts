import { describe, expect, it } from 'vitest';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import type { WorkerService } from '../../../src/core/config/qscale-config.js';
import type { FleetEvent } from '../../../src/core/events.js';
import { scaleService, scaleServices, type ScaleDependencies } from '../../../src/core/scale/scale-service.js';
import { rejection } from '../../support/assertions.js';
import { FakeEngine } from '../../support/fake-engine.js';

const NOW = 1_700_000_000_000;
const project = { name: 'demo', workingDir: '/srv/demo', configFiles: ['/srv/demo/docker-compose.yml'] };
const options = { project, maxWorkersPerQueue: 10 };

function worker(name: string, overrides: Partial<ServiceDefinition> = {}, limits: Partial<WorkerService> = {}): WorkerService {
  return {
    name,
    queue: `q_${name}`,
    minReplicas: 0,
    maxReplicas: 6,
    initialReplicas: 1,
    definition: { name, image: 'demo/worker:1', hasBuild: true, environment: {}, labels: {}, networkMode: 'host', binds: [], ports: [], profiles: [], ...overrides },
    ...limits,
  };
}

function setup() {
  const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
  const events: FleetEvent[] = [];
  const deps: ScaleDependencies = { engine, clock: { now: () => NOW, sleep: async () => {} }, onEvent: (event) => events.push(event) };
  return { engine, events, deps };
}


describe('scaleService', () => {
  it('reports the last log lines of a dead container it replaces as a typed event, unformatted', async () => {
    const { engine, events, deps } = setup();
    await scaleService(deps, { worker: worker('worker-a'), desired: 2 }, options);
    for (const container of engine.containers.values()) Object.assign(container, { state: 'exited', exitCode: 137 });
    engine.logLinesOf = (name) => (name === 'demo-worker-a-1' ? ['starting', 'killed'] : []);
    events.length = 0;
    await scaleService({ ...deps, logs: engine }, { worker: worker('worker-a'), desired: 2 }, options);
    expect(events.filter((event) => event.type === 'dead-logs')).toEqual([
      { type: 'dead-logs', service: 'worker-a', container: 'demo-worker-a-1', state: 'exited', lines: ['starting', 'killed'] },
      { type: 'dead-logs', service: 'worker-a', container: 'demo-worker-a-2', state: 'exited', lines: [] },
    ]);
  });

  it('scales up and down to exactly the count, and is a no-op at the count', async () => {
    const { engine, deps } = setup();
    const outcome = await scaleService(deps, { worker: worker('worker-a'), desired: 3 }, options);
    expect(outcome).toMatchObject({ service: 'worker-a', before: 0, after: 3 });
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3']);

    await scaleService(deps, { worker: worker('worker-a'), desired: 1 }, options);
    expect(engine.names()).toEqual(['demo-worker-a-1']);
    expect([...engine.calls.slice(-4)].sort()).toEqual(['stop demo-worker-a-2 10s', 'remove demo-worker-a-2', 'stop demo-worker-a-3 10s', 'remove demo-worker-a-3'].sort());

    const callsBefore = engine.calls.length;
    await scaleService(deps, { worker: worker('worker-a'), desired: 1 }, options);
    expect(engine.calls.length).toBe(callsBefore);
  });

  it('uses the stop grace period of the service, and --timeout over it', async () => {
    const { engine, deps } = setup();
    const slow = worker('worker-a', { stopGracePeriodMs: 25_000 });
    await scaleService(deps, { worker: slow, desired: 2 }, options);
    await scaleService(deps, { worker: slow, desired: 1 }, options);
    expect(engine.calls).toContain('stop demo-worker-a-2 25s');
    await scaleService(deps, { worker: slow, desired: 2 }, options);
    await scaleService(deps, { worker: slow, desired: 1, stopTimeoutSeconds: 3 }, options);
    expect(engine.calls).toContain('stop demo-worker-a-2 3s');
  });

  it('refuses counts outside the limits and changes nothing', async () => {
    const { engine, deps } = setup();
    const limited = worker('worker-a', {}, { minReplicas: 1, maxReplicas: 4 });
    expect((await rejection(scaleService(deps, { worker: limited, desired: 5 }, options))).message).toBe('worker-a: 5 replicas exceeds its max_replicas (4); nothing changed');
    expect((await rejection(scaleService(deps, { worker: limited, desired: 0 }, options))).message).toBe('worker-a: 0 replicas is below its min_replicas (1); nothing changed');
    const error = await rejection(scaleService(deps, { worker: worker('worker-a', {}, { maxReplicas: 20 }), desired: 12 }, options));
    expect(error.message).toBe('worker-a: 12 replicas exceeds system.scaling.max_workers_per_queue (10); nothing changed');
    expect(error.exitCode).toBe(2);
    expect(engine.calls).toEqual([]);
  });

  it('refuses to run several replicas of a service with container_name or a fixed host port', async () => {
    const { engine, deps } = setup();
    expect((await rejection(scaleService(deps, { worker: worker('worker-a', { containerName: 'solo' }), desired: 2 }, options))).message).toBe(
      'worker-a sets container_name "solo", so it cannot run 2 replicas; nothing changed',
    );
    expect((await rejection(scaleService(deps, { worker: worker('worker-a', { ports: ['8080:80'] }), desired: 2 }, options))).message).toBe(
      'worker-a publishes the fixed host port "8080:80", so it cannot run 2 replicas; nothing changed',
    );
    await scaleService(deps, { worker: worker('worker-a', { ports: ['80'] }), desired: 2 }, options);
    expect(engine.names()).toHaveLength(2);
  });

  it('names the missing image and the make target, before creating anything', async () => {
    const { engine, deps } = setup();
    const error = await rejection(scaleService(deps, { worker: worker('worker-a', { image: 'demo/absent:1' }), desired: 1 }, options));
    expect(error.code).toBe('IMAGE_MISSING');
    expect(error.message).toBe('image demo/absent:1 for service worker-a is not on this engine; nothing changed');
    expect(error.exitCode).toBe(2);
    expect(error.hint).toMatch(/make build/);
    expect(engine.calls).toEqual([]);
  });

  it('plans and reports in a dry run without touching the engine', async () => {
    const { engine, deps, events } = setup();
    const outcome = await scaleService(deps, { worker: worker('worker-a'), desired: 2 }, { ...options, dryRun: true });
    expect(outcome.after).toBe(0);
    expect(events.map((event) => event.type)).toEqual(['plan']);
    expect(engine.calls).toEqual([]);
  });

  it('replaces exited containers so the service ends with the count running', async () => {
    const { engine, deps } = setup();
    await scaleService(deps, { worker: worker('worker-a'), desired: 2 }, options);
    const [first] = [...engine.containers.values()];
    first.state = 'exited';
    await scaleService(deps, { worker: worker('worker-a'), desired: 2 }, options);
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    expect(engine.containers.has(first.id)).toBe(false);
  });

  it('sees containers Compose made and numbers new ones after them', async () => {
    const { engine, deps } = setup();
    engine.seed('demo_worker-a_1', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.oneoff]: 'False', [LABEL.containerNumber]: '1', [LABEL.configHash]: 'abc' }, 'running', { image: 'demo/worker:1' });
    await scaleService(deps, { worker: worker('worker-a'), desired: 2 }, options);
    expect(engine.names()).toEqual(['demo-worker-a-2', 'demo_worker-a_1']);
    const created = [...engine.containers.values()].find((container) => container.name === 'demo-worker-a-2');
    expect(created?.labels[LABEL.configHash]).toBe('abc');
  });

  it('two scales at the same moment leave no duplicate numbers and the right count', async () => {
    const { engine, deps } = setup();
    // Both processes observe an empty service before either creates anything.
    let waiting: Array<() => void> = [];
    let observedBoth = false;
    engine.beforeCreate = async () => {
      if (observedBoth) return;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) {
          observedBoth = true;
          waiting.forEach((release) => release());
          waiting = [];
        }
      });
    };
    await Promise.all([
      scaleService(deps, { worker: worker('worker-a'), desired: 3 }, options),
      scaleService(deps, { worker: worker('worker-a'), desired: 3 }, options),
    ]);
    const numbers = [...engine.containers.values()].map((container) => container.labels[LABEL.containerNumber]).sort();
    expect(numbers).toEqual(['1', '2', '3']);
    expect(engine.names('running')).toHaveLength(3);
    expect(engine.calls.filter((call) => call.startsWith('create'))).toHaveLength(3);
  });

  it('reports a failed start as a runtime error naming the container', async () => {
    const { engine, deps } = setup();
    engine.failStartOf = (name) => (name.endsWith('-2') ? new Error('port is already allocated') : undefined);
    const error = await rejection(scaleService(deps, { worker: worker('worker-a'), desired: 2 }, options));
    expect(error.message).toBe('worker-a: start demo-worker-a-2 failed: port is already allocated');
    expect(error.exitCode).toBe(1);
  });
});

describe('scaleServices', () => {
  it('checks every request before changing anything', async () => {
    const { engine, deps } = setup();
    const error = await rejection(
      scaleServices(deps, [
        { worker: worker('worker-a'), desired: 3 },
        { worker: worker('worker-b', {}, { maxReplicas: 2 }), desired: 3 },
      ], options),
    );
    expect(error.message).toBe('worker-b: 3 replicas exceeds its max_replicas (2); nothing changed');
    expect(engine.calls).toEqual([]);
  });

  it('scales every service', async () => {
    const { engine, deps } = setup();
    await scaleServices(deps, [{ worker: worker('worker-a'), desired: 2 }, { worker: worker('worker-b'), desired: 1 }], options);
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-b-1']);
  });
});
