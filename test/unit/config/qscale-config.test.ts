import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/config/qscale-config.js';
import { QscaleError } from '../../../src/core/errors.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

function load(config: string, compose = SIMPLE_COMPOSE, env: Record<string, string> = {}, extra: Record<string, string> = {}) {
  const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': compose, ...extra });
  return loadConfig({ cwd: dir, env });
}

function errorOf(run: () => unknown): QscaleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QscaleError);
    return error as QscaleError;
  }
  throw new Error('expected an error');
}

describe('loadConfig', () => {
  it('parses workers, limits and defaults into typed objects', () => {
    const config = load(SIMPLE_CONFIG);
    expect(config.project.name).toBe('demo');
    expect(config.workers.map((worker) => [worker.name, worker.queue, worker.minReplicas, worker.maxReplicas, worker.initialReplicas])).toEqual([
      ['worker-a', 'task_a', 1, 5, 2],
      ['worker-b', 'task_b', 0, 3, 1],
    ]);
    expect(config.scaling).toEqual({ enabled: true, autoScale: false, maxWorkersPerQueue: 10 });
    expect(config.broker.url).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(config.workers[0].definition.environment).toEqual({ QUEUE: 'task_a' });
  });

  it('names the file, the YAML path and the line of an unknown key', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG.replace('    max_replicas: 5\n', '    max_replicas: 5\n    max_replica: 6\n')));
    expect(error.message).toBe('test-config.yml: workers.worker-a.max_replica: unknown key "max_replica" (line 8)');
    expect(error.exitCode).toBe(2);
  });

  it('names the path and what came for a wrong type', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG.replace('min_replicas: 1', 'min_replicas: one')));
    expect(error.message).toBe('test-config.yml: workers.worker-a.min_replicas: expected number, got "one" (line 6)');
  });

  it('refuses min above max', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG.replace('min_replicas: 1', 'min_replicas: 6')));
    expect(error.message).toBe('test-config.yml: workers.worker-a.min_replicas: 6 is greater than max_replicas (5) (line 6)');
  });

  it('refuses initial replicas outside the limits', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG.replace('initial_replicas: 2', 'initial_replicas: 9')));
    expect(error.message).toBe('test-config.yml: workers.worker-a.initial_replicas: 9 is outside min_replicas..max_replicas (1..5) (line 8)');
  });

  it('refuses a max above the global max_workers_per_queue', () => {
    const config = `${SIMPLE_CONFIG}system:\n  scaling:\n    max_workers_per_queue: 4\n`;
    const error = errorOf(() => load(config));
    expect(error.message).toBe('test-config.yml: workers.worker-a.max_replicas: 5 exceeds system.scaling.max_workers_per_queue (4) (line 7)');
  });

  it('refuses a worker service the compose file does not define', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG.replace('  worker-b:\n    queue', '  worker-c:\n    queue')));
    expect(error.message).toBe('test-config.yml: workers.worker-c: service "worker-c" is not defined in docker-compose.yml (line 9)');
  });

  it('reports bad YAML with its line', () => {
    const error = errorOf(() => load('workers:\n  worker-a:\n    queue: [unclosed\n'));
    expect(error.message).toMatch(/^test-config\.yml: invalid YAML: .+ \(line \d+\)$/);
    expect(error.exitCode).toBe(2);
  });

  it('reports a missing config file with a hint', () => {
    const dir = writeProject({});
    const error = errorOf(() => loadConfig({ cwd: dir, env: {}, configFile: 'nope.yml' }));
    expect(error.message).toBe('nope.yml: file not found');
    expect(error.hint).toMatch(/--config/);
  });

  it('takes the project name from -p, then COMPOSE_PROJECT_NAME, then the config, then the folder', () => {
    const configWithoutName = SIMPLE_CONFIG.replace('project:\n  name: demo\n', '');
    const dir = writeProject({ 'test-config.yml': configWithoutName, 'docker-compose.yml': SIMPLE_COMPOSE }, 'My.Project_');
    const folderName = path.basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '');
    expect(loadConfig({ cwd: dir, env: {} }).project.name).toBe(folderName);
    expect(loadConfig({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).project.name).toBe('fromenv');
    expect(loadConfig({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' }, projectName: 'fromflag' }).project.name).toBe('fromflag');
    writeFileSync(path.join(dir, '.env'), 'COMPOSE_PROJECT_NAME=fromdotenv\n');
    expect(loadConfig({ cwd: dir, env: {} }).project.name).toBe('fromdotenv');
    expect(loadConfig({ cwd: dir, env: { COMPOSE_PROJECT_NAME: 'fromenv' } }).project.name).toBe('fromenv');
    expect(errorOf(() => loadConfig({ cwd: dir, env: {}, projectName: 'Bad Name' })).message).toBe('-p/--project-name: "Bad Name" is not a valid project name');
  });

  it('lets QSCALE_BROKER_URL override the broker URL', () => {
    expect(load(SIMPLE_CONFIG, SIMPLE_COMPOSE, { QSCALE_BROKER_URL: 'amqp://u:p@127.0.0.1:5673' }).broker.url).toBe('amqp://u:p@127.0.0.1:5673');
  });
});

describe('compose file', () => {
  const compose = `services:
  worker-a:
    image: \${IMAGE:-demo/worker}:\${TAG}
    network_mode: host
    command: node worker.js --name "a b"
    entrypoint: ["/init"]
    env_file: worker.env
    environment:
      - QUEUE=task_a
      - FROM_HOST
    labels:
      team: core
    init: true
    user: "1000"
    working_dir: /app
    volumes:
      - ./data:/data:ro
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    healthcheck:
      test: ["CMD", "node", "-e", "0"]
      interval: 5s
      retries: 3
    restart: on-failure:2
    deploy:
      resources:
        limits:
          cpus: "0.5"
          memory: 256m
  worker-b:
    image: demo/worker
`;

  it('normalises every field a container is created from', () => {
    const config = load(SIMPLE_CONFIG, compose, { TAG: '7' }, { 'worker.env': '# comment\nPREFETCH=5\nQUEUE=overridden\n' });
    const definition = config.workers[0].definition;
    expect(definition).toMatchObject({
      image: 'demo/worker:7',
      command: ['node', 'worker.js', '--name', 'a b'],
      entrypoint: ['/init'],
      environment: { PREFETCH: '5', QUEUE: 'task_a' },
      labels: { team: 'core' },
      init: true,
      user: '1000',
      workingDir: '/app',
      stopSignal: 'SIGINT',
      stopGracePeriodMs: 90_000,
      healthcheck: { test: ['CMD', 'node', '-e', '0'], intervalMs: 5000, retries: 3 },
      restart: 'on-failure:2',
      nanoCpus: 500_000_000,
      memoryBytes: 256 * 1024 * 1024,
    });
    expect(definition.binds).toEqual([`${path.dirname(config.compose.file)}/data:/data:ro`]);
    expect('FROM_HOST' in definition.environment).toBe(false);
  });

  it('locates a bad duration in the compose file', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG, SIMPLE_COMPOSE.replace('network_mode: host\n    environment', 'network_mode: host\n    stop_grace_period: soon\n    environment')));
    expect(error.message).toBe('docker-compose.yml: services.worker-a.stop_grace_period: "soon" is not a duration (examples: 10s, 1m30s, 500ms) (line 5)');
  });

  it('reports a required variable that is unset', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG, SIMPLE_COMPOSE.replace('demo/worker:1\n    network_mode: host\n    environment', '${IMAGE:?set IMAGE}\n    network_mode: host\n    environment')));
    expect(error.message).toBe('docker-compose.yml: services.worker-a.image: required variable IMAGE is missing a value: set IMAGE (line 3)');
  });

  it('resolves YAML anchors and merge keys as Compose does', () => {
    const anchored = `x-worker: &worker
  image: demo/worker:1
  network_mode: host
  environment:
    PREFETCH: "5"
services:
  worker-a:
    <<: *worker
  worker-b:
    <<: *worker
    image: demo/worker:2
`;
    const config = load(SIMPLE_CONFIG, anchored);
    expect(config.workers.map((worker) => [worker.definition.image, worker.definition.networkMode, worker.definition.environment])).toEqual([
      ['demo/worker:1', 'host', { PREFETCH: '5' }],
      ['demo/worker:2', 'host', { PREFETCH: '5' }],
    ]);
  });

  it('refuses a service with neither image nor build', () => {
    const error = errorOf(() => load(SIMPLE_CONFIG, SIMPLE_COMPOSE.replace('    image: demo/worker:1\n    network_mode: host\n    environment', '    network_mode: host\n    environment')));
    expect(error.message).toBe('docker-compose.yml: services.worker-a: has neither image nor build (line 2)');
  });
});
