import { describe, expect, it } from 'vitest';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { FleetEvent } from '../../../src/core/events.js';
import type { WorkerState, WorkerStateProbe, WorkerStateSnapshot } from '../../../src/core/ports/worker-state.js';
import { scaleService, scaleServices, type ScaleDependencies } from '../../../src/core/scale/scale-service.js';
import { FakeBrokerAdmin, runCli } from '../../support/cli-harness.js';
import { rejection } from '../../support/assertions.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { writeProject } from '../../support/fixtures.js';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import type { WorkerService } from '../../../src/core/config/qscale-config.js';

const NOW = 1_700_000_000_000;

const COMPOSE = `services:
  worker-a:
    image: demo/worker:1
    network_mode: host
  worker-b:
    image: demo/absent:1
    network_mode: host
`;

const CONFIG = `project:
  name: demo
workers:
  worker-a:
    queue: task_a
    min_replicas: 1
    max_replicas: 5
  worker-b:
    queue: task_b
    max_replicas: 5
`;

function fleet(compose = COMPOSE, config = CONFIG) {
  return { cwd: writeProject({ 'test-config.yml': config, 'docker-compose.yml': compose }), engine: new FakeEngine(() => NOW, ['demo/worker:1']), openBroker: async () => new FakeBrokerAdmin(new Map()) };
}

describe('qscale up keeps the fleet count', () => {
  const ONE_SERVICE = `services:
  worker-a:
    image: demo/worker:1
    network_mode: host
`;
  const config = (min: number) => `project:
  name: demo
workers:
  worker-a:
    queue: task_a
    min_replicas: ${min}
    max_replicas: 5
    initial_replicas: 1
`;

  it('replaces killed replicas with as many new ones, and shows their last log lines first', async () => {
    const setup = fleet(ONE_SERVICE, config(1));
    await runCli(['scale', 'worker-a', '3', '-q'], setup);
    for (const container of setup.engine.containers.values()) Object.assign(container, { state: 'exited', exitCode: 137 });
    setup.engine.logLinesOf = (name) => ['one', 'two', 'three', 'four', 'five', 'six', `${name} was killed`];
    const result = await runCli(['up'], setup);
    expect(result.code).toBe(0);
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3']);
    expect(result.stderr).toContain('worker-a: 0 → 3');
    expect(result.stderr).toContain(
      ['worker-a: last 5 log lines of demo-worker-a-2 (exited):', '  | three', '  | four', '  | five', '  | six', '  | demo-worker-a-2 was killed'].join('\n'),
    );
  });

  it('with min_replicas 0, brings back the count a Docker restart stopped', async () => {
    const setup = fleet(ONE_SERVICE, config(0));
    await runCli(['scale', 'worker-a', '2', '-q'], setup);
    for (const container of setup.engine.containers.values()) container.state = 'exited';
    expect((await runCli(['up', '-q'], setup)).code).toBe(0);
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
  });

  it('counts a created, never started container as nothing, and starts it toward initial_replicas', async () => {
    const setup = fleet(ONE_SERVICE, config(0));
    setup.engine.seed('demo-worker-a-4', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.oneoff]: 'False', [LABEL.containerNumber]: '4' }, 'created', { image: 'demo/worker:1' });
    const result = await runCli(['up'], setup);
    expect(result.stderr).toContain('worker-a: 0 → 1');
    expect(result.stderr).toContain('Container demo-worker-a-4  Started');
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-4']);
    const status = await runCli(['ps', '--json'], setup);
    expect(JSON.parse(status.stdout).map((row: { name: string; state: string }) => `${row.name} ${row.state}`)).toEqual(['demo-worker-a-4 running']);
  });
});

describe('all or nothing', () => {
  it('scale-all refuses a missing image with exit 2 before any change, in a dry run too', async () => {
    const setup = fleet();
    for (const args of [['scale-all', '3'], ['scale-all', '3', '--dry-run'], ['up'], ['up', '--dry-run']]) {
      const result = await runCli(args, setup);
      expect([args.join(' '), result.code, result.stderr.split('\n').find((line) => line.startsWith('error:'))]).toEqual([
        args.join(' '),
        2,
        'error: image demo/absent:1 for service worker-b is not on this engine; nothing changed — build it with `make build` or pull it with `docker pull demo/absent:1`',
      ]);
      expect(setup.engine.calls).toEqual([]);
    }
  });

  it('a start refused part-way still prints the outcome as JSON, and exits 1', async () => {
    const setup = fleet(COMPOSE.replace('demo/absent:1', 'demo/worker:1'));
    setup.engine.failStartOf = (name) => (name === 'demo-worker-b-2' ? new Error('no space left on device') : undefined);
    const result = await runCli(['scale-all', '2', '--json'], setup);
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.complete).toBe(false);
    expect(parsed.services.map((service: { service: string; after: number; complete?: boolean }) => [service.service, service.after, service.complete ?? true])).toEqual([
      ['worker-a', 2, true],
      ['worker-b', 1, false],
    ]);
    expect(parsed.services[1].error).toBe('worker-b: start demo-worker-b-2 failed: no space left on device');
    expect(result.stderr).toContain('worker-b: stopped part-way: 1 running (was 0, asked 2)');
    expect(result.stderr).toContain('  created and removed again: demo-worker-b-2');
    expect(setup.engine.names()).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-b-1']);
  });

  it('refuses a network_mode network that does not exist', async () => {
    const setup = fleet(COMPOSE.replace('demo/absent:1', 'demo/worker:1').replace('network_mode: host\n  worker-b', 'network_mode: backplane\n  worker-b'));
    const result = await runCli(['scale-all', '1'], setup);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('error: network_mode "backplane" of service worker-a: no network backplane on this engine; nothing changed');
    expect(setup.engine.calls).toEqual([]);
  });
});

class FakeProbe implements WorkerStateProbe {
  calls = 0;
  constructor(private readonly answer: (ids: readonly string[]) => WorkerStateSnapshot) {}
  async probe(ids: readonly string[]): Promise<WorkerStateSnapshot> {
    this.calls++;
    return this.answer(ids);
  }
}

function worker(overrides: Partial<ServiceDefinition> = {}): WorkerService {
  return {
    name: 'worker-a',
    queue: 'q',
    minReplicas: 0,
    maxReplicas: 8,
    initialReplicas: 1,
    definition: { name: 'worker-a', image: 'demo/worker:1', hasBuild: true, environment: {}, labels: {}, networkMode: 'host', binds: [], ports: [], profiles: [], ...overrides },
  };
}

describe('idle first', () => {
  const project = { name: 'demo', workingDir: '/srv/demo', configFiles: ['/srv/demo/docker-compose.yml'] };
  const options = { project, maxWorkersPerQueue: 10 };

  function setup(answer: (ids: readonly string[]) => WorkerStateSnapshot) {
    const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
    const events: FleetEvent[] = [];
    const probe = new FakeProbe(answer);
    const deps: ScaleDependencies = { engine, clock: { now: () => NOW, sleep: async () => {} }, onEvent: (event) => events.push(event), workerStates: probe };
    return { engine, events, probe, deps };
  }

  it('asks the workers once per scale-in, never on a scale-up, and stops the idle ones', async () => {
    const { engine, probe, deps } = setup((ids) => {
      const states = new Map<string, WorkerState>();
      ids.forEach((id, index) => states.set(id, index < 2 ? { working: 1, held: 1, draining: false } : { working: 0, held: 0, draining: false }));
      return { states };
    });
    await scaleService(deps, { worker: worker(), desired: 4 }, options);
    expect(probe.calls).toBe(0);
    const byName = new Map([...engine.containers.values()].map((container) => [container.id, container.name]));
    const outcome = await scaleService(deps, { worker: worker(), desired: 2 }, options);
    expect(probe.calls).toBe(1);
    const ids = [...engine.containers.keys()];
    expect(ids.map((id) => byName.get(id))).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    expect(outcome.operations.map((operation) => operation.cause)).toEqual(Array(4).fill('scale down 4 → 2 (idle first)'));
  });

  it('says so when the broker cannot be asked, and stops the highest numbers', async () => {
    const { engine, events, deps } = setup(() => ({ states: new Map(), problem: 'broker unreachable at amqp://guest:***@127.0.0.1:1: ECONNREFUSED' }));
    await scaleService(deps, { worker: worker(), desired: 3 }, options);
    await scaleService(deps, { worker: worker(), desired: 2 }, options);
    expect(engine.names()).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    expect(events).toContainEqual({ type: 'notice', service: 'worker-a', message: 'worker states unknown (broker unreachable at amqp://guest:***@127.0.0.1:1: ECONNREFUSED); stopping the highest numbers first' });
  });

  it('warns when --timeout is below the stop grace its workers were created with (their drain deadline comes from it)', async () => {
    for (const [stopTimeoutSeconds, warned] of [[5, true], [30, false]] as const) {
      const { deps, events } = setup(() => ({ states: new Map() }));
      await scaleServices(deps, [{ worker: worker({ stopGracePeriodMs: 29_500 }), desired: 1, stopTimeoutSeconds }], options);
      const warnings = events.filter((event) => event.type === 'notice' && event.message.startsWith('warning:'));
      expect(warnings).toEqual(
        warned
          ? [{ type: 'notice', service: 'worker-a', message: 'warning: --timeout 5 is below the 30 s stop_grace_period its workers were created with (QSCALE_STOP_TIMEOUT_MS=30000): a worker draining for up to 27000 ms is killed at 5000 ms before it hands its tasks back' }]
          : [],
      );
    }
  });

  it('warns when DRAIN_TIMEOUT_MS is not below the stop timeout', async () => {
    const { events, deps } = setup(() => ({ states: new Map() }));
    await scaleServices(deps, [{ worker: worker({ environment: { DRAIN_TIMEOUT_MS: '12000' } }), desired: 1 }], options);
    expect(events.filter((event) => event.type === 'notice')).toEqual([
      { type: 'notice', service: 'worker-a', message: 'warning: DRAIN_TIMEOUT_MS (12000 ms) is not below the stop timeout (10000 ms): the engine may kill a worker still draining; lower it or raise stop_grace_period' },
    ]);
    events.length = 0;
    await scaleServices(deps, [{ worker: worker({ environment: { DRAIN_TIMEOUT_MS: '8000' } }), desired: 1 }], options);
    expect(events.filter((event) => event.type === 'notice')).toEqual([]);
  });

  it('refuses before asking anyone when the count is out of bounds', async () => {
    const { probe, deps } = setup(() => ({ states: new Map() }));
    expect((await rejection(scaleService(deps, { worker: worker(), desired: 9 }, options))).exitCode).toBe(2);
    expect(probe.calls).toBe(0);
  });
});
