import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../src/core/backend/select-backend.js';
import { loadConfig } from '../../../src/core/config/qscale-config.js';
import { QscaleError } from '../../../src/core/errors.js';
import { buildServiceSpec } from '../../../src/core/swarm/service-spec.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { FakeSwarm } from '../../support/fake-swarm.js';
import { SIMPLE_COMPOSE, writeProject } from '../../support/fixtures.js';

function setup(backend?: string) {
  const config = loadConfig({
    cwd: writeProject({
      'docker-compose.yml': SIMPLE_COMPOSE,
      'test-config.yml': `project:\n  name: demo\n${backend ? `system:\n  backend: ${backend}\n` : ''}workers:\n  worker-a:\n    queue: task_a\n`,
    }),
    env: {},
  });
  const swarm = new FakeSwarm(() => 0);
  const engine = new FakeEngine(() => 0);
  const deps = { engine, swarm, clock: { now: () => 0, sleep: async () => {} }, onEvent: () => {} };
  return { config, swarm, deps };
}

const stackService = (project: string) => buildServiceSpec(project, { name: 'worker-a', image: 'demo/worker:1', hasBuild: false, environment: {}, labels: {}, binds: [], ports: [], profiles: [] }, 1);

describe('selectBackend', () => {
  it('auto (the default): Swarm when the engine manages a swarm that runs this stack', async () => {
    const s = setup();
    expect(s.config.backend).toBe('auto');
    s.swarm.seed(stackService('demo'));
    expect((await selectBackend(s.config, s.deps)).kind).toBe('swarm');
  });

  it('auto: Compose when the stack has no services, when the engine is no manager, or without a Swarm API', async () => {
    const s = setup('auto');
    s.swarm.seed(stackService('other'));
    expect((await selectBackend(s.config, s.deps)).kind).toBe('compose');
    s.swarm.seed(stackService('demo'));
    s.swarm.manager = false;
    expect((await selectBackend(s.config, s.deps)).kind).toBe('compose');
    s.swarm.manager = true;
    expect((await selectBackend(s.config, { ...s.deps, swarm: undefined })).kind).toBe('compose');
  });

  it('compose: Compose even where a stack runs', async () => {
    const s = setup('compose');
    s.swarm.seed(stackService('demo'));
    expect((await selectBackend(s.config, s.deps)).kind).toBe('compose');
  });

  it('swarm: Swarm even before the stack exists; an error when the engine is no manager', async () => {
    const s = setup('swarm');
    expect((await selectBackend(s.config, s.deps)).kind).toBe('swarm');
    s.swarm.manager = false;
    const error = await selectBackend(s.config, s.deps).catch((reason: unknown) => reason);
    expect(error).toEqual(
      new QscaleError('USAGE', 'system.backend is swarm, but the engine at fake://swarm is not a swarm manager', {
        hint: 'point DOCKER_HOST at a manager node (ssh://user@manager), or run `docker swarm init`',
      }),
    );
    expect((error as QscaleError).exitCode).toBe(2);
  });

  it('refuses a backend it does not know, naming the field', () => {
    expect(() => setup('kubernetes')).toThrow(/system\.backend/);
  });
});
