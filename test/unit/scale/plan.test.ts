import { describe, expect, it } from 'vitest';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import type { ContainerSummary } from '../../../src/core/ports/container-engine.js';
import { specHash } from '../../../src/core/scale/container-spec.js';
import type { WorkerState } from '../../../src/core/ports/worker-state.js';
import { describePlan, liveContainers, planScale } from '../../../src/core/scale/plan.js';

const NOW = 1_700_000_000_000;
const project = { name: 'demo', workingDir: '/srv/demo', configFiles: ['/srv/demo/docker-compose.yml'] };
const definition: ServiceDefinition = {
  name: 'worker-a',
  image: 'demo/worker:1',
  hasBuild: false,
  environment: { QUEUE: 'task_a' },
  labels: {},
  networkMode: 'host',
  binds: [],
  ports: [],
  profiles: [],
};
const hash = specHash(definition);

function container(number: number, state: ContainerSummary['state'] = 'running', extra: Partial<ContainerSummary> & { hash?: string } = {}): ContainerSummary {
  return {
    id: `id${number}`,
    name: `demo-worker-a-${number}`,
    image: 'demo/worker:1',
    labels: { [LABEL.containerNumber]: String(number), [LABEL.specHash]: extra.hash ?? hash },
    state,
    status: '',
    createdAt: NOW - 3_600_000,
    ...extra,
  };
}

function plan(observed: ContainerSummary[], desired: number, workerStates?: Map<string, WorkerState>) {
  return describePlan(planScale({ project, definition, hash, observed, desired, stopTimeoutSeconds: 10, workerStates }));
}

const idle = (held = 0): WorkerState => ({ working: 0, held, draining: false });
const busy = (working: number, held = working): WorkerState => ({ working, held, draining: false });

describe('planScale', () => {
  it('creates and starts the lowest free numbers on scale-up', () => {
    expect(plan([container(2)], 3)).toBe(
      [
        'worker-a: 1 → 3',
        '  create demo-worker-a-1 (image demo/worker:1): scale up 1 → 3',
        '  start  demo-worker-a-1: scale up 1 → 3',
        '  create demo-worker-a-3 (image demo/worker:1): scale up 1 → 3',
        '  start  demo-worker-a-3: scale up 1 → 3',
      ].join('\n'),
    );
  });

  it('removes the highest numbers on scale-down', () => {
    expect(plan([container(1), container(2), container(3)], 1)).toBe(
      [
        'worker-a: 3 → 1',
        '  stop   demo-worker-a-2 (timeout 10s): scale down 3 → 1',
        '  remove demo-worker-a-2: scale down 3 → 1',
        '  stop   demo-worker-a-3 (timeout 10s): scale down 3 → 1',
        '  remove demo-worker-a-3: scale down 3 → 1',
      ].join('\n'),
    );
  });

  it('removes unhealthy, then outdated containers before the highest numbers', () => {
    const observed = [container(1, 'running', { health: 'unhealthy' }), container(2, 'running', { hash: 'old' }), container(3), container(4)];
    expect(plan(observed, 2)).toBe(
      [
        'worker-a: 4 → 2',
        '  stop   demo-worker-a-1 (timeout 10s): scale down 4 → 2 (unhealthy first)',
        '  remove demo-worker-a-1: scale down 4 → 2 (unhealthy first)',
        '  stop   demo-worker-a-2 (timeout 10s): scale down 4 → 2 (outdated first)',
        '  remove demo-worker-a-2: scale down 4 → 2 (outdated first)',
      ].join('\n'),
    );
  });

  it('replaces exited and dead containers, reusing their numbers', () => {
    expect(plan([container(1, 'exited'), container(2), container(3, 'dead')], 3)).toBe(
      [
        'worker-a: 1 → 3',
        '  remove demo-worker-a-1: replace exited container',
        '  create demo-worker-a-1 (image demo/worker:1): scale up 1 → 3',
        '  start  demo-worker-a-1: scale up 1 → 3',
        '  remove demo-worker-a-3: replace dead container',
        '  create demo-worker-a-3 (image demo/worker:1): scale up 1 → 3',
        '  start  demo-worker-a-3: scale up 1 → 3',
      ].join('\n'),
    );
  });

  it('never counts a created, never started container: a scale-up starts it, anything else removes it', () => {
    const unstarted = (number: number, extra: Partial<ContainerSummary> & { hash?: string } = {}) => container(number, 'created', { createdAt: NOW - 1000, ...extra });
    expect(liveContainers([container(1), unstarted(2)]).map((entry) => entry.name)).toEqual(['demo-worker-a-1']);
    expect(plan([container(1), unstarted(2), unstarted(3)], 2)).toBe(
      [
        'worker-a: 1 → 2',
        '  start  demo-worker-a-2: scale up 1 → 2 (created, never started)',
        '  remove demo-worker-a-3: remove created, never started container',
      ].join('\n'),
    );
    // "Already at 1" is true only of started containers; an outdated unstarted one is replaced.
    expect(plan([container(1), unstarted(2, { hash: 'old' })], 1)).toBe(['worker-a: 1 → 1', '  remove demo-worker-a-2: remove created, never started container'].join('\n'));
    expect(plan([unstarted(1, { hash: 'old' })], 1)).toBe(
      [
        'worker-a: 0 → 1',
        '  remove demo-worker-a-1: remove created, never started container',
        '  create demo-worker-a-2 (image demo/worker:1): scale up 0 → 1',
        '  start  demo-worker-a-2: scale up 0 → 1',
      ].join('\n'),
    );
  });

  it('does nothing at the current count', () => {
    expect(plan([container(1), container(2)], 2)).toBe('worker-a: 2 → 2\n  nothing to do');
  });

  it('never reuses the number of a container being removed', () => {
    expect(plan([container(1, 'removing')], 1)).toContain('create demo-worker-a-2');
  });

  it('labels new containers as Compose does, reusing a sibling config-hash', () => {
    const sibling = container(1, 'running', { labels: { [LABEL.containerNumber]: '1', [LABEL.configHash]: 'compose-made', [LABEL.version]: '1.29.2' } });
    const result = planScale({ project, definition, hash, observed: [sibling], desired: 2, stopTimeoutSeconds: 10 });
    const create = result.chains[0].operations[0];
    expect(create.kind).toBe('create');
    if (create.kind !== 'create') return;
    expect(create.spec.labels).toEqual({
      [LABEL.project]: 'demo',
      [LABEL.service]: 'worker-a',
      [LABEL.containerNumber]: '2',
      [LABEL.oneoff]: 'False',
      [LABEL.configHash]: 'compose-made',
      [LABEL.workingDir]: '/srv/demo',
      [LABEL.configFiles]: '/srv/demo/docker-compose.yml',
      [LABEL.version]: '1.29.2',
      [LABEL.image]: 'demo/worker:1',
      [LABEL.specHash]: hash,
    });
    expect(create.spec.name).toBe('demo-worker-a-2');
    expect(create.spec.networkMode).toBe('host');
    // The worker derives its drain deadline from the stop timeout the engine will give it.
    expect(create.spec.env).toEqual(['QUEUE=task_a', 'QSCALE_STOP_TIMEOUT_MS=10000']);
    expect(create.spec.stopTimeoutSeconds).toBe(10);
    const slow = planScale({ project, definition: { ...definition, stopGracePeriodMs: 2500, environment: { QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '99' } }, hash, observed: [], desired: 1, stopTimeoutSeconds: 3 });
    const slowCreate = slow.chains[0].operations[0];
    expect(slowCreate.kind === 'create' && [slowCreate.spec.env, slowCreate.spec.stopTimeoutSeconds]).toEqual([['QUEUE=q', 'QSCALE_STOP_TIMEOUT_MS=3000'], 3]);
  });
});

describe('planScale: which workers a scale-in stops', () => {
  it('stops idle workers first, then those holding the fewest tasks, by their own report', () => {
    const observed = [container(1), container(2), container(3), container(4)];
    const states = new Map([
      ['id1', idle()],
      ['id2', busy(1, 3)],
      ['id3', busy(2, 2)],
      ['id4', busy(1, 10)],
    ]);
    expect(plan(observed, 2, states)).toBe(
      [
        'worker-a: 4 → 2',
        '  stop   demo-worker-a-1 (timeout 10s): scale down 4 → 2 (idle first)',
        '  remove demo-worker-a-1: scale down 4 → 2 (idle first)',
        '  stop   demo-worker-a-3 (timeout 10s): scale down 4 → 2 (busy 2)',
        '  remove demo-worker-a-3: scale down 4 → 2 (busy 2)',
      ].join('\n'),
    );
  });

  it('keeps the order exited, unhealthy, outdated, idle or draining, unknown, busy; highest number among equals', () => {
    const observed = [
      container(1, 'exited'),
      container(2),
      container(3, 'running', { health: 'unhealthy' }),
      container(4, 'running', { hash: 'old' }),
      container(5),
      container(6),
      container(7),
      container(8),
    ];
    const states = new Map([
      ['id2', busy(1)],
      ['id3', busy(4)],
      ['id4', busy(4)],
      ['id5', idle(1)],
      ['id6', { working: 1, held: 1, draining: true }],
      ['id8', idle(0)],
    ]);
    expect(plan(observed, 1, states)).toBe(
      [
        'worker-a: 7 → 1',
        '  remove demo-worker-a-1: replace exited container',
        '  stop   demo-worker-a-3 (timeout 10s): scale down 7 → 1 (unhealthy first)',
        '  remove demo-worker-a-3: scale down 7 → 1 (unhealthy first)',
        '  stop   demo-worker-a-4 (timeout 10s): scale down 7 → 1 (outdated first)',
        '  remove demo-worker-a-4: scale down 7 → 1 (outdated first)',
        '  stop   demo-worker-a-5 (timeout 10s): scale down 7 → 1 (idle first)',
        '  remove demo-worker-a-5: scale down 7 → 1 (idle first)',
        '  stop   demo-worker-a-6 (timeout 10s): scale down 7 → 1 (draining)',
        '  remove demo-worker-a-6: scale down 7 → 1 (draining)',
        '  stop   demo-worker-a-7 (timeout 10s): scale down 7 → 1 (state unknown)',
        '  remove demo-worker-a-7: scale down 7 → 1 (state unknown)',
        '  stop   demo-worker-a-8 (timeout 10s): scale down 7 → 1 (idle first)',
        '  remove demo-worker-a-8: scale down 7 → 1 (idle first)',
      ].join('\n'),
    );
  });

  it('among idle workers stops those holding fewest first, then unknown ones, before any busy one', () => {
    const observed = [container(1), container(2), container(3), container(4), container(5)];
    const states = new Map([
      ['id1', idle(2)],
      ['id2', idle(0)],
      ['id3', busy(1, 1)],
      ['id4', idle(2)],
    ]);
    const stopped = (desired: number) => plan(observed, desired, states).split('\n').filter((line) => line.startsWith('  stop')).map((line) => line.trim().split(/ +/)[1]);
    expect(stopped(4)).toEqual(['demo-worker-a-2']);
    expect(stopped(3)).toEqual(['demo-worker-a-2', 'demo-worker-a-4']);
    expect(stopped(2)).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-4']);
    expect(stopped(1)).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-4', 'demo-worker-a-5']);
  });

  it('falls back to the highest numbers when nobody answered', () => {
    expect(plan([container(1), container(2), container(3)], 2, new Map())).toBe(
      [
        'worker-a: 3 → 2',
        '  stop   demo-worker-a-3 (timeout 10s): scale down 3 → 2 (state unknown)',
        '  remove demo-worker-a-3: scale down 3 → 2 (state unknown)',
      ].join('\n'),
    );
  });
});

describe('specHash', () => {
  it('is stable and changes with the definition', () => {
    expect(specHash({ ...definition })).toBe(hash);
    expect(specHash({ ...definition, environment: { QUEUE: 'task_b' } })).not.toBe(hash);
    expect(specHash({ ...definition, profiles: ['x'] })).toBe(hash);
  });
});
