import { describe, expect, it } from 'vitest';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import type { ContainerSummary } from '../../../src/core/ports/container-engine.js';
import { specHash } from '../../../src/core/scale/container-spec.js';
import { describePlan, IN_FLIGHT_MS, planScale } from '../../../src/core/scale/plan.js';

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

function plan(observed: ContainerSummary[], desired: number) {
  return describePlan(planScale({ project, definition, hash, observed, desired, stopTimeoutSeconds: 10, now: NOW }));
}

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

  it('counts a container another process just created as live, and a stale one as broken', () => {
    const fresh = container(1, 'created', { createdAt: NOW - 1000 });
    const stale = container(2, 'created', { createdAt: NOW - IN_FLIGHT_MS - 1 });
    expect(plan([fresh, stale], 1)).toBe(['worker-a: 1 → 1', '  remove demo-worker-a-2: replace never started container'].join('\n'));
  });

  it('does nothing at the current count', () => {
    expect(plan([container(1), container(2)], 2)).toBe('worker-a: 2 → 2\n  nothing to do');
  });

  it('never reuses the number of a container being removed', () => {
    expect(plan([container(1, 'removing')], 1)).toContain('create demo-worker-a-2');
  });

  it('labels new containers as Compose does, reusing a sibling config-hash', () => {
    const sibling = container(1, 'running', { labels: { [LABEL.containerNumber]: '1', [LABEL.configHash]: 'compose-made', [LABEL.version]: '1.29.2' } });
    const result = planScale({ project, definition, hash, observed: [sibling], desired: 2, stopTimeoutSeconds: 10, now: NOW });
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
    expect(create.spec.env).toEqual(['QUEUE=task_a']);
  });
});

describe('specHash', () => {
  it('is stable and changes with the definition', () => {
    expect(specHash({ ...definition })).toBe(hash);
    expect(specHash({ ...definition, environment: { QUEUE: 'task_b' } })).not.toBe(hash);
    expect(specHash({ ...definition, profiles: ['x'] })).toBe(hash);
  });
});
