import { describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import type { WorkerService } from '../../../src/core/config/qscale-config.js';
import { Interrupt } from '../../../src/core/errors.js';
import type { FleetEvent } from '../../../src/core/events.js';
import { downFleet } from '../../../src/core/fleet/down.js';
import { IncompleteChangeError, scaleService, scaleServices, type ScaleDependencies } from '../../../src/core/scale/scale-service.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { QscaleConfig } from '../../../src/core/config/qscale-config.js';

const NOW = 1_700_000_000_000;
const project = { name: 'demo', workingDir: '/srv/demo', configFiles: ['/srv/demo/docker-compose.yml'] };
const options = { project, maxWorkersPerQueue: 10 };

function worker(name: string, overrides: Partial<ServiceDefinition> = {}): WorkerService {
  return {
    name,
    queue: `q_${name}`,
    minReplicas: 0,
    maxReplicas: 8,
    initialReplicas: 1,
    definition: { name, image: 'demo/worker:1', hasBuild: true, environment: {}, labels: {}, networkMode: 'host', binds: [], ports: [], profiles: [], ...overrides },
  };
}

function setup() {
  const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
  const events: FleetEvent[] = [];
  const interrupt = new AbortController();
  const abandon = new AbortController();
  const deps: ScaleDependencies = {
    engine,
    clock: { now: () => NOW, sleep: async () => {} },
    onEvent: (event) => events.push(event),
    signal: interrupt.signal,
    abandon: abandon.signal,
  };
  return { engine, events, deps, interrupt, abandon };
}

async function incomplete(promise: Promise<unknown>): Promise<IncompleteChangeError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IncompleteChangeError);
  return error as IncompleteChangeError;
}

/** A gate a test opens by hand: promises parked on it settle when it opens. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('an interrupted scale-up', () => {
  it('removes the containers it created and did not start yet, keeps those started, and says so', async () => {
    const { engine, deps, interrupt } = setup();
    // Containers 1 and 2 go through; the other creates are held until the interrupt came.
    const later = gate();
    let creates = 0;
    engine.beforeCreate = async () => {
      if (++creates > 2) await later.opened;
    };
    engine.afterCall = (call) => {
      if (call === 'start demo-worker-a-2' || call === 'start demo-worker-a-1') {
        if (engine.names('running').length === 2) {
          interrupt.abort(new Interrupt('SIGINT'));
          later.open();
        }
      }
    };
    const error = await incomplete(scaleService(deps, { worker: worker('worker-a'), desired: 8 }, options));
    expect(error.exitCode).toBe(130);
    expect(error.message).toBe('interrupted');
    // Exactly as many containers exist as run: no created container is left.
    expect(engine.names()).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2']);
    const [outcome] = error.outcomes;
    expect(outcome).toMatchObject({ service: 'worker-a', before: 0, after: 2, desired: 8, complete: false, left: [] });
    const done = outcome.operations.map((operation) => `${operation.kind} ${operation.target}`);
    expect(done.filter((line) => line.startsWith('start'))).toEqual(['start demo-worker-a-1', 'start demo-worker-a-2']);
    expect(done.filter((line) => line.startsWith('remove'))).toEqual([3, 4, 5, 6, 7, 8].map((number) => `remove demo-worker-a-${number}`));
    expect(outcome.operations.find((operation) => operation.kind === 'remove')?.cause).toBe('interrupted before its start: undo the create');
    expect(outcome.notDone?.map((operation) => `${operation.kind} ${operation.target}`)).toEqual([3, 4, 5, 6, 7, 8].map((number) => `start demo-worker-a-${number}`));
  });

  it('begins nothing and plans no further round once interrupted before executing', async () => {
    const { engine, deps, interrupt, events } = setup();
    interrupt.abort(new Interrupt('SIGTERM'));
    const error = await rejectionOf(scaleService(deps, { worker: worker('worker-a'), desired: 3 }, options));
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(engine.calls).toEqual([]);
    expect(events.filter((event) => event.type === 'operation-started')).toEqual([]);
  });
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
}

describe('an interrupted scale-down', () => {
  it('lets the stops already begun finish, removes those containers, and leaves no exited container', async () => {
    const { engine, deps, interrupt, events } = setup();
    await scaleService({ ...deps, signal: undefined }, { worker: worker('worker-a'), desired: 4 }, options);
    const stopping = gate();
    engine.stopGate = () => stopping.opened;
    const run = scaleService(deps, { worker: worker('worker-a'), desired: 1 }, options);
    await waitFor(() => events.filter((event) => event.type === 'operation-started' && event.operation.kind === 'stop').length === 3);
    interrupt.abort(new Interrupt('SIGTERM'));
    stopping.open();
    const error = await incomplete(run);
    expect(error.exitCode).toBe(143);
    expect(engine.names()).toEqual(['demo-worker-a-1']);
    expect(error.outcomes[0]).toMatchObject({ before: 4, after: 1, complete: false, notDone: [], left: [] });
    expect(error.outcomes[0].operations.map((operation) => operation.kind)).toEqual(['stop', 'remove', 'stop', 'remove', 'stop', 'remove']);
  });

  it('on the second signal returns at once, lists what it left stopping, and reports nothing afterwards', async () => {
    const { engine, deps, interrupt, abandon, events } = setup();
    await scaleService({ ...deps, signal: undefined }, { worker: worker('worker-a'), desired: 3 }, options);
    const stopping = gate();
    engine.stopGate = (name) => (name.endsWith('-3') ? stopping.opened : undefined);
    const run = scaleService(deps, { worker: worker('worker-a'), desired: 1 }, options);
    await waitFor(() => engine.calls.includes('remove demo-worker-a-2'));
    interrupt.abort(new Interrupt('SIGINT'));
    abandon.abort(new Interrupt('SIGINT'));
    const error = await incomplete(run);
    expect(error.outcomes[0]).toMatchObject({
      before: 3,
      complete: false,
      left: [{ target: 'demo-worker-a-3', state: 'stopping, not removed' }],
      notDone: [{ kind: 'remove', target: 'demo-worker-a-3' }],
    });
    const reported = events.length;
    stopping.open();
    await waitFor(() => engine.names('exited').includes('demo-worker-a-3'));
    expect(events.length).toBe(reported);
  });

  it('down, interrupted, finishes the stops it began and says which containers remain', async () => {
    const { engine, deps, interrupt, events } = setup();
    const labels = (service: string, number: number) => ({ [LABEL.project]: 'demo', [LABEL.service]: service, [LABEL.oneoff]: 'False', [LABEL.containerNumber]: String(number) });
    engine.seed('demo-worker-a-1', labels('worker-a', 1));
    engine.seed('demo-worker-a-2', labels('worker-a', 2));
    const stopping = gate();
    engine.stopGate = () => stopping.opened;
    const config = { project, compose: { services: new Map() }, workers: [] } as unknown as QscaleConfig;
    const run = downFleet(deps, config, {});
    await waitFor(() => events.filter((event) => event.type === 'operation-started').length === 2);
    interrupt.abort(new Interrupt('SIGINT'));
    stopping.open();
    const error = await incomplete(run);
    expect(engine.names()).toEqual([]);
    expect(error.outcomes[0]).toMatchObject({ service: 'worker-a', before: 2, after: 0, complete: false, left: [] });
  });
});

describe('a change refused part-way by the engine', () => {
  it('lists what changed on every service and fails with exit 1', async () => {
    const { engine, deps } = setup();
    engine.failStartOf = (name) => (name === 'demo-worker-b-2' ? new Error('port is already allocated') : undefined);
    const error = await incomplete(
      scaleServices(
        { ...deps, signal: undefined },
        [
          { worker: worker('worker-a'), desired: 2 },
          { worker: worker('worker-b'), desired: 2 },
        ],
        options,
      ),
    );
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('worker-b: start demo-worker-b-2 failed: port is already allocated');
    expect(error.outcomes.map((outcome) => [outcome.service, outcome.after, outcome.complete ?? true])).toEqual([
      ['worker-a', 2, true],
      ['worker-b', 1, false],
    ]);
    expect(error.outcomes[1].notDone).toEqual([{ kind: 'start', target: 'demo-worker-b-2', cause: 'scale up 0 → 2' }]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('the abandon signal', () => {
  it('keeps no listener once a scale is done: the autoscaler passes the same signal to every scale', async () => {
    const { deps, abandon } = setup();
    for (const desired of [2, 1, 3, 0, 2, 1]) await scaleService(deps, { worker: worker('worker-a'), desired }, options);
    expect(getEventListeners(abandon.signal, 'abort')).toHaveLength(0);
  });
});
