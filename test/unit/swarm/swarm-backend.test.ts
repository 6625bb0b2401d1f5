import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { loadConfig, type QscaleConfig } from '../../../src/core/config/qscale-config.js';
import type { FleetEvent } from '../../../src/core/events.js';
import { encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import type { LogEvent } from '../../../src/core/logs/follow-fleet-logs.js';
import { describeServiceChange } from '../../../src/core/swarm/plan-service-change.js';
import { buildServiceSpec } from '../../../src/core/swarm/service-spec.js';
import { SwarmBackend } from '../../../src/core/swarm/swarm-backend.js';
import { rejection } from '../../support/assertions.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';
import { FakeSwarm, specHashOf } from '../../support/fake-swarm.js';

const START = 1_700_000_000_000;

const COMPOSE = SIMPLE_COMPOSE;
const CONFIG = SIMPLE_CONFIG.replace('project:\n  name: demo\n', 'project:\n  name: demo\nsystem:\n  backend: swarm\n');

/** Time moves only by the backend's own sleeps: no test waits for real. */
class SteppingClock implements Clock {
  time = START;
  slept: number[] = [];
  now = () => this.time;
  sleep = async (ms: number) => {
    this.slept.push(ms);
    this.time += ms;
  };
}

function setup(compose = COMPOSE) {
  const config: QscaleConfig = loadConfig({ cwd: writeProject({ 'docker-compose.yml': compose, 'test-config.yml': CONFIG }), env: {} });
  const clock = new SteppingClock();
  const swarm = new FakeSwarm(clock.now);
  const events: FleetEvent[] = [];
  const cpu = new Map<string, number>();
  const engine = { containerStats: async (id: string) => (cpu.has(id) ? { cpuPercent: cpu.get(id)! } : undefined) };
  const backend = (options = {}) => new SwarmBackend(config, { swarm, engine, clock, onEvent: (event) => events.push(event) }, options);
  const worker = (name: string) => config.workers.find((candidate) => candidate.name === name)!;
  return { config, clock, swarm, events, cpu, backend: backend(), withOptions: backend, worker };
}


/** The progress as the CLI would print it, one line per event. */
function progress(events: FleetEvent[]): string[] {
  return events.map((event) => {
    switch (event.type) {
      case 'service-change':
        return describeServiceChange(event.change);
      case 'converging':
        return `converging ${event.service} ${event.running}/${event.desired}${event.stopping ? ` (${event.stopping} stopping)` : ''}`;
      case 'converged':
        return `converged ${event.service} ${event.running} after ${event.elapsedMs}ms`;
      case 'notice':
        return `notice ${event.message}`;
      default:
        return event.type;
    }
  });
}

describe('SwarmBackend.up', () => {
  it('creates one service per worker at its initial replicas and waits until the tasks run', async () => {
    const s = setup();
    const outcomes = await s.backend.up();
    expect(s.swarm.calls).toEqual(['create demo_worker-a replicas 2', 'create demo_worker-b replicas 1']);
    expect(outcomes.map(({ service, before, after }) => ({ service, before, after }))).toEqual([
      { service: 'worker-a', before: 0, after: 2 },
      { service: 'worker-b', before: 0, after: 1 },
    ]);
    expect(progress(s.events)).toEqual([
      'create demo_worker-a replicas 0 → 2 (image demo/worker:1)',
      'create demo_worker-b replicas 0 → 1 (image demo/worker:1)',
      'converged demo_worker-a 2 after 0ms',
      'converged demo_worker-b 1 after 0ms',
    ]);
    const service = await s.swarm.inspectService('demo_worker-a');
    expect(service?.spec).toEqual(buildServiceSpec('demo', s.worker('worker-a').definition, 2));
  });

  it('changes nothing the second time, keeps a hand-scaled count, and --reset restores the initial one', async () => {
    const s = setup();
    await s.backend.up();
    await s.backend.scale([{ worker: s.worker('worker-a'), desired: 4 }]);
    s.swarm.calls.length = 0;
    s.events.length = 0;

    await s.backend.up();
    expect(s.swarm.calls).toEqual([]);
    expect(progress(s.events).filter((line) => !line.startsWith('converged'))).toEqual(['demo_worker-a: already at 4', 'demo_worker-b: already at 1']);

    await s.backend.up({ reset: true });
    expect(s.swarm.calls).toEqual(['update demo_worker-a replicas 2']);
  });

  it('raises a service scaled below its min to the min', async () => {
    const s = setup();
    s.swarm.seed(buildServiceSpec('demo', s.worker('worker-a').definition, 0));
    await s.backend.up();
    expect([...s.swarm.calls].sort()).toEqual(['create demo_worker-b replicas 1', 'update demo_worker-a replicas 1']);
  });

  it('updates the spec of a service whose definition changed, and waits for the new tasks', async () => {
    const s = setup();
    await s.backend.up();
    const before = specHashOf(await s.swarm.inspectService('demo_worker-a'));
    const changed = setup(COMPOSE.replace('QUEUE: task_a', 'QUEUE: task_a2'));
    // Same fake swarm, new config.
    const backend = new SwarmBackend(changed.config, { swarm: s.swarm, engine: { containerStats: async () => undefined }, clock: s.clock, onEvent: (event) => s.events.push(event) });
    s.swarm.startMs = 2_000;
    s.swarm.stopMs = 1_000;
    s.swarm.calls.length = 0;
    s.events.length = 0;
    await backend.up();
    expect(s.swarm.calls).toEqual(['update demo_worker-a replicas 2']);
    expect(progress(s.events).filter((line) => line.includes('worker-a'))).toEqual([
      'update demo_worker-a spec (definition changed), replicas 2',
      'converging demo_worker-a 0/2 (2 stopping)',
      'converging demo_worker-a 0/2',
      'converged demo_worker-a 2 after 2000ms',
    ]);
    expect(progress(s.events).filter((line) => line.includes('worker-b'))).toEqual(['demo_worker-b: already at 1', 'converged demo_worker-b 1 after 0ms']);
    const after = await s.swarm.inspectService('demo_worker-a');
    expect(specHashOf(after)).not.toBe(before);
    expect(after?.spec.TaskTemplate.ContainerSpec.Env).toEqual(['QUEUE=task_a2', 'QSCALE_STOP_TIMEOUT_MS=10000']);
  });

  it('takes over a service docker stack deploy made, keeping settings qscale does not manage', async () => {
    const s = setup();
    const stackMade = buildServiceSpec('demo', s.worker('worker-a').definition, 3);
    delete (stackMade.Labels as Record<string, string>)['io.qscale.spec-hash'];
    (stackMade.TaskTemplate as Record<string, unknown>).Placement = { Constraints: ['node.role==worker'] };
    s.swarm.seed(stackMade);
    await s.backend.up();
    const service = await s.swarm.inspectService('demo_worker-a');
    expect(s.swarm.calls.filter((call) => call.includes('worker-a'))).toEqual(['update demo_worker-a replicas 3']);
    expect((service?.spec.TaskTemplate as Record<string, unknown>).Placement).toEqual({ Constraints: ['node.role==worker'] });
    expect(specHashOf(service)).toMatch(/^[0-9a-f]{64}$/);
    expect(progress(s.events)[0]).toBe('update demo_worker-a spec (not made by qscale), replicas 3');
  });
});

describe('SwarmBackend.scale', () => {
  it('sets the replica count on the service version it inspected', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.calls.length = 0;
    s.events.length = 0;
    const [outcome] = await s.backend.scale([{ worker: s.worker('worker-a'), desired: 4 }]);
    expect(outcome).toEqual({
      service: 'worker-a',
      before: 2,
      after: 4,
      operations: [{ kind: 'update', target: 'demo_worker-a', cause: 'update demo_worker-a replicas 2 → 4' }],
    });
    expect(s.swarm.calls).toEqual(['update demo_worker-a replicas 4']);
    expect(progress(s.events)).toEqual(['update demo_worker-a replicas 2 → 4', 'converged demo_worker-a 4 after 0ms']);
  });

  it('inspects again and retries when another client updated the service in between', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.calls.length = 0;
    s.events.length = 0;
    let raced = false;
    s.swarm.beforeUpdate = (id) => {
      if (raced) return;
      raced = true;
      s.swarm.touch(id);
    };
    await s.backend.scale([{ worker: s.worker('worker-a'), desired: 3 }]);
    expect(s.swarm.calls).toEqual(['touch demo_worker-a', 'update demo_worker-a rejected (version 1, current 2)', 'update demo_worker-a replicas 3']);
    expect(progress(s.events)).toEqual([
      'update demo_worker-a replicas 2 → 3',
      'notice demo_worker-a was updated meanwhile (version 1); inspecting again',
      'update demo_worker-a replicas 2 → 3',
      'converged demo_worker-a 3 after 0ms',
    ]);
    expect((await s.swarm.inspectService('demo_worker-a'))?.spec.Mode.Replicated.Replicas).toBe(3);
  });

  it('gives up after a bounded number of tries when other clients keep updating', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.calls.length = 0;
    s.swarm.beforeUpdate = (id) => s.swarm.touch(id);
    const error = await rejection(s.withOptions({ maxUpdateAttempts: 3 }).scale([{ worker: s.worker('worker-a'), desired: 3 }]));
    expect(error.message).toBe('demo_worker-a: other clients kept updating the service (3 tries); try again');
    expect(error.exitCode).toBe(1);
    expect(s.swarm.calls.filter((call) => call.includes('rejected'))).toHaveLength(3);
  });

  it('waits for convergence on the clock and reports progress as tasks start', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.startMs = 1_200;
    s.swarm.stopMs = 700;
    s.events.length = 0;
    s.clock.slept.length = 0;
    await s.backend.scale([{ worker: s.worker('worker-a'), desired: 4 }]);
    expect(progress(s.events)).toEqual(['update demo_worker-a replicas 2 → 4', 'converging demo_worker-a 2/4', 'converged demo_worker-a 4 after 1500ms']);
    expect(s.clock.slept).toEqual([500, 500, 500]);

    // Scaling down converges once the surplus tasks have stopped, not when they were told to.
    s.events.length = 0;
    await s.backend.scale([{ worker: s.worker('worker-a'), desired: 1 }]);
    expect(progress(s.events)).toEqual(['update demo_worker-a replicas 4 → 1', 'converging demo_worker-a 1/1 (3 stopping)', 'converged demo_worker-a 1 after 1000ms']);
  });

  it('fails with a timeout when the tasks do not run in time, the count left as set', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.startMs = Number.POSITIVE_INFINITY;
    const error = await rejection(s.withOptions({ timeoutMs: 10_000, pollMs: 1_000 }).scale([{ worker: s.worker('worker-a'), desired: 3 }]));
    expect(error.message).toBe('demo_worker-a: 2 of 3 tasks running after 10s');
    expect(error.hint).toBe('the service is scaled to 3 and Swarm keeps trying; docker service ps demo_worker-a shows why tasks wait');
    expect(error.exitCode).toBe(1);
    expect(s.clock.time - START).toBeGreaterThanOrEqual(10_000);
    expect(s.clock.time - START).toBeLessThan(12_000);
  });

  it('reports a task that failed to start with its error (exit 1)', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.startMs = 800;
    s.swarm.failTask = (slot) => (slot === 3 ? 'No such image: demo/worker:1' : undefined);
    const error = await rejection(s.backend.scale([{ worker: s.worker('worker-a'), desired: 3 }]));
    expect(error.message).toBe('demo_worker-a: task demo_worker-a.3 failed to start: No such image: demo/worker:1');
    expect(error.hint).toBe('docker service ps --no-trunc demo_worker-a shows every attempt');
    expect(error.exitCode).toBe(1);
  });

  it('does not blame a scale on a task that had failed before it', async () => {
    const s = setup();
    s.swarm.failTask = (slot) => (slot === 2 ? 'task: non-zero exit (1)' : undefined);
    s.swarm.startMs = 100;
    await rejection(s.backend.up());
    s.swarm.failTask = undefined;
    s.swarm.startMs = 0;
    // Slot 2's failed task is history; slot 2 gets no new task in the fake, so 1 of 1 runs.
    await s.backend.scale([{ worker: s.worker('worker-a'), desired: 1 }]);
    expect(s.swarm.calls.at(-1)).toBe('update demo_worker-a replicas 1');
  });

  it('refuses counts beyond the limits with the Compose messages and changes nothing', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.calls.length = 0;
    s.events.length = 0;
    const above = await rejection(s.backend.scale([{ worker: s.worker('worker-a'), desired: 6 }]));
    expect([above.message, above.exitCode]).toEqual(['worker-a: 6 replicas exceeds its max_replicas (5); nothing changed', 2]);
    const below = await rejection(s.backend.scale([{ worker: s.worker('worker-a'), desired: 0 }]));
    expect([below.message, below.exitCode]).toEqual(['worker-a: 0 replicas is below its min_replicas (1); nothing changed', 2]);
    // One bad request among good ones: none of them happens.
    const mixed = await rejection(s.backend.scale([{ worker: s.worker('worker-b'), desired: 2 }, { worker: s.worker('worker-b'), desired: 9 }]));
    expect(mixed.code).toBe('LIMIT_EXCEEDED');
    expect(s.swarm.calls).toEqual([]);
    expect(s.events).toEqual([]);
  });

  it('with dry run prints what would change and changes nothing', async () => {
    const s = setup();
    await s.backend.up();
    s.swarm.calls.length = 0;
    s.events.length = 0;
    const outcomes = await s.backend.scale([{ worker: s.worker('worker-a'), desired: 4 }, { worker: s.worker('worker-b'), desired: 1 }], { dryRun: true });
    expect(progress(s.events)).toEqual(['update demo_worker-a replicas 2 → 4', 'demo_worker-b: already at 1']);
    expect(outcomes.map(({ before, after }) => [before, after])).toEqual([
      [2, 2],
      [1, 1],
    ]);
    expect(s.swarm.calls).toEqual([]);
  });

  it('says that --timeout does not apply', async () => {
    const s = setup();
    await s.backend.scale([{ worker: s.worker('worker-b'), desired: 1, stopTimeoutSeconds: 3 }]);
    expect(progress(s.events)[0]).toBe("notice --timeout does not apply on Swarm: tasks stop after their service's stop_grace_period");
  });
});

describe('SwarmBackend.down', () => {
  it("removes the stack's services and only them", async () => {
    const s = setup();
    await s.backend.up();
    const other = buildServiceSpec('other', s.worker('worker-a').definition, 1);
    s.swarm.seed(other);
    s.swarm.calls.length = 0;
    s.events.length = 0;

    expect(await s.backend.down({ dryRun: true })).toEqual(['demo_worker-a', 'demo_worker-b']);
    expect(s.swarm.calls).toEqual([]);
    expect(progress(s.events)).toEqual(['remove demo_worker-a: down', 'remove demo_worker-b: down']);

    expect(await s.backend.down()).toEqual(['demo_worker-a', 'demo_worker-b']);
    expect(s.swarm.calls).toEqual(['remove demo_worker-a', 'remove demo_worker-b']);
    expect([...s.swarm.services.values()].map((service) => service.spec.Name)).toEqual(['other_worker-a']);
  });
});

describe('SwarmBackend replicas and counts', () => {
  it('lists tasks per node with slot, desired state and error; counts per service', async () => {
    const s = setup();
    s.swarm.nodes.push({ id: 'node-2', hostname: 'worker-2', state: 'ready' });
    s.swarm.placeOn = (slot) => (slot % 2 === 0 ? 'node-2' : 'node-1');
    await s.backend.up();
    s.swarm.failTask = () => 'task: non-zero exit (1)';
    s.clock.time += 5_000;
    await rejection(s.backend.scale([{ worker: s.worker('worker-b'), desired: 2 }]));
    s.clock.time += 1_000;

    const rows = await s.backend.replicas();
    expect(rows.map((row) => [row.name, row.service, row.number, row.node, row.state, row.desiredState, row.error, row.uptimeMs, row.image, row.createdBy])).toEqual([
      ['demo_worker-a.1', 'worker-a', 1, 'manager-1', 'running', 'running', null, 6_000, 'demo/worker:1', 'qscale'],
      ['demo_worker-a.2', 'worker-a', 2, 'worker-2', 'running', 'running', null, 6_000, 'demo/worker:1', 'qscale'],
      ['demo_worker-b.1', 'worker-b', 1, 'manager-1', 'running', 'running', null, 6_000, 'demo/worker:1', 'qscale'],
      ['demo_worker-b.2', 'worker-b', 2, 'worker-2', 'failed', 'shutdown', 'task: non-zero exit (1)', null, 'demo/worker:1', 'qscale'],
    ]);
    expect((await s.backend.replicas(['worker-b'])).map((row) => row.name)).toEqual(['demo_worker-b.1', 'demo_worker-b.2']);

    expect(Object.fromEntries(await s.backend.replicaCounts())).toEqual({
      'worker-a': { running: 2, desired: 2, healthy: 0, unhealthy: 0 },
      'worker-b': { running: 1, desired: 2, healthy: 0, unhealthy: 0 },
    });
  });

  it('reads CPU only of tasks running on this node', async () => {
    const s = setup();
    s.swarm.nodes.push({ id: 'node-2', hostname: 'worker-2', state: 'ready' });
    s.swarm.placeOn = (slot) => (slot === 1 ? 'node-1' : 'node-2');
    await s.backend.up();
    const tasks = await s.swarm.listTasks(['demo_worker-a']);
    for (const task of tasks) s.cpu.set(task.containerId!, task.slot! * 10);
    expect(await s.backend.cpuPercents('worker-a')).toEqual([10]);
    s.swarm.localNode = undefined;
    expect(await s.backend.cpuPercents('worker-a')).toEqual([]);
  });
});

describe('SwarmBackend.followLogs', () => {
  it('splits a service stream into tasks named <service>.<slot>, asking for details', async () => {
    const s = setup();
    await s.backend.up();
    const service = (await s.swarm.inspectService('demo_worker-a'))!;
    const [one, two] = (await s.swarm.listTasks([service.id])).sort((a, b) => a.slot! - b.slot!);
    const details = (taskId: string) => `com.docker.swarm.node.id=node-1,com.docker.swarm.service.id=${service.id},com.docker.swarm.task.id=${taskId}`;
    const frame = encodeDockerFrame('stdout', `2024-05-01T10:00:00.000000001Z ${details(one.id)} hello from one\n`);
    // A prefix cut across chunks, and the other task's line in between.
    s.swarm.logChunks.set(service.id, [
      frame.subarray(0, 30),
      frame.subarray(30),
      encodeDockerFrame('stderr', `2024-05-01T10:00:01.000000001Z ${details(two.id)} oops\n`),
      encodeDockerFrame('stdout', `2024-05-01T10:00:02.000000001Z ${details(one.id)} bye\n`),
    ]);
    const events: LogEvent[] = [];
    await s.backend.followLogs({ services: ['worker-a'], follow: false, tail: 10, timestamps: true }, (event) => {
      events.push(event);
    });
    expect(s.swarm.logRequests).toEqual([{ id: service.id, request: { follow: false, tail: 10, sinceSeconds: undefined, timestamps: true, details: true } }]);
    expect(events.map((event) => (event.type === 'line' ? `${event.container.name} ${event.stream} ${event.time} ${event.text}` : `${event.type} ${'container' in event ? event.container?.name : ''}`))).toEqual([
      'attached worker-a.1',
      'line worker-a.1 stdout 2024-05-01T10:00:00.000000001Z hello from one',
      'attached worker-a.2',
      'line worker-a.2 stderr 2024-05-01T10:00:01.000000001Z oops',
      'line worker-a.1 stdout 2024-05-01T10:00:02.000000001Z bye',
      'detached worker-a.1',
      'detached worker-a.2',
    ].map((line) => line.replace(/^line /, '')));
    const [first] = events.filter((event) => event.type === 'line');
    expect(first.type === 'line' && first.container).toEqual({ id: one.id, name: 'worker-a.1', containerName: `demo_worker-a.1.${one.id}`, service: 'worker-a', number: 1 });
  });
});
