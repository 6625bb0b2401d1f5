import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, queueMismatches } from '../../../src/core/config/qscale-config.js';
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
    expect(error.message).toBe('test-config.yml: workers.worker-a.min_replicas: 6 is above max_replicas 5 (line 6)');
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

/** Messages blame what the user wrote, and say so when a value is a default. */
describe('replica limits that conflict', () => {
  const worker = (lines: string) => `project:\n  name: demo\nworkers:\n  worker-a:\n    queue: task_a\n${lines}`;

  it('max_replicas: 0 blames max_replicas and says initial_replicas is a default, not an initial_replicas nobody wrote', () => {
    const error = errorOf(() => load(worker('    max_replicas: 0\n')));
    expect(error.message).toBe('test-config.yml: workers.worker-a.max_replicas: initial_replicas defaults to max(min_replicas, 1) = 1, above max_replicas 0 (line 6)');
    expect(error.hint).toBe('set initial_replicas: 0');
    expect(error.exitCode).toBe(2);
    expect(load(worker('    max_replicas: 0\n    initial_replicas: 0\n')).workers[0]).toMatchObject({ maxReplicas: 0, initialReplicas: 0 });
  });

  it('says when max_replicas is the default of max_workers_per_queue', () => {
    const global = 'system:\n  scaling:\n    max_workers_per_queue: 3\n';
    expect(errorOf(() => load(`${global}${worker('    min_replicas: 4\n')}`)).message).toBe(
      'test-config.yml: workers.worker-a.min_replicas: 4 is above max_replicas, which defaults to system.scaling.max_workers_per_queue = 3 (line 9)',
    );
    expect(errorOf(() => load(`${global}${worker('    initial_replicas: 5\n')}`)).message).toBe(
      'test-config.yml: workers.worker-a.initial_replicas: 5 is outside min_replicas..max_replicas (0..3); max_replicas, which defaults to system.scaling.max_workers_per_queue = 3 (line 9)',
    );
  });

  it('seeds initial_replicas from the compose service\'s deploy.replicas or scale:, and says so when they conflict', () => {
    const compose = (replicas: string) => `services:\n  worker-a:\n    image: demo/worker:1\n${replicas}`;
    expect(load(worker('    max_replicas: 5\n'), compose('    deploy:\n      replicas: 3\n')).workers[0].initialReplicas).toBe(3);
    expect(load(worker('    max_replicas: 5\n'), compose('    scale: 4\n')).workers[0].initialReplicas).toBe(4);
    // The config's own initial_replicas wins.
    expect(load(worker('    max_replicas: 5\n    initial_replicas: 1\n'), compose('    scale: 4\n')).workers[0].initialReplicas).toBe(1);
    expect(errorOf(() => load(worker('    max_replicas: 2\n'), compose('    scale: 4\n'))).message).toBe(
      "test-config.yml: workers.worker-a.max_replicas: initial_replicas is not set and comes from the service's deploy.replicas/scale in docker-compose.yml = 4, above max_replicas 2 (line 6)",
    );
    expect(errorOf(() => load(worker('    min_replicas: 2\n    max_replicas: 5\n'), compose('    scale: 1\n'))).message).toBe(
      "test-config.yml: workers.worker-a.min_replicas: initial_replicas is not set and comes from the service's deploy.replicas/scale in docker-compose.yml = 1, below min_replicas 2 (line 6)",
    );
  });
});

describe('queueMismatches', () => {
  const compose = (environment: string) => `services:\n  worker-a:\n    image: demo/worker:1\n    environment:\n${environment}`;
  const config = (extra = '') => `project:\n  name: demo\nworkers:\n  worker-a:\n    queue: task_a\n${extra}`;

  it('finds nothing when the compose service reads the config\'s queue, or sets no QUEUE at all', () => {
    expect(queueMismatches(load(config(), compose('      QUEUE: task_a\n')))).toEqual([]);
    expect(queueMismatches(load(config(), compose('      PREFETCH: "1"\n')))).toEqual([]);
  });

  it('names the service, both queues and what it means when QUEUE differs', () => {
    expect(queueMismatches(load(config(), compose('      QUEUE: task_x\n')))).toEqual([
      {
        service: 'worker-a',
        key: 'queue',
        configured: 'task_a',
        environment: 'task_x',
        message: 'worker-a: test-config.yml says queue task_a, but its service in docker-compose.yml sets QUEUE=task_x: its workers read task_x, so status and load tests watch a queue none of them reads',
      },
    ]);
  });

  it('compares queue_type (default classic) with QUEUE_TYPE (the worker\'s default classic)', () => {
    expect(load(config()).workers[0].queueType).toBe('classic');
    expect(queueMismatches(load(config('    queue_type: quorum\n'), compose('      QUEUE_TYPE: quorum\n')))).toEqual([]);
    expect(queueMismatches(load(config('    queue_type: quorum\n'), compose('      QUEUE: task_a\n'))).map((mismatch) => mismatch.message)).toEqual([
      'worker-a: test-config.yml says queue_type quorum, but its service in docker-compose.yml sets no QUEUE_TYPE (the worker then declares a classic queue)',
    ]);
    expect(queueMismatches(load(config(), compose('      QUEUE_TYPE: quorum\n'))).map((mismatch) => mismatch.message)).toEqual([
      'worker-a: test-config.yml says queue_type classic, but its service in docker-compose.yml sets QUEUE_TYPE=quorum',
    ]);
    expect(errorOf(() => load(config('    queue_type: stream\n'))).message).toMatch(/^test-config\.yml: workers\.worker-a\.queue_type: .* \(line 6\)$/);
  });
});
