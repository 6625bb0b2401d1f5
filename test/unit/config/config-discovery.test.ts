import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseConfigFile } from '../../../src/core/config/config-discovery.js';
import { loadConfig } from '../../../src/core/config/qscale-config.js';
import { QscaleError } from '../../../src/core/errors.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

function errorOf(run: () => unknown): QscaleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QscaleError);
    return error as QscaleError;
  }
  throw new Error('expected an error');
}

describe('chooseConfigFile', () => {
  it('takes -c first, then QSCALE_CONFIG, both relative to the current folder', () => {
    const dir = writeProject({ 'a.yml': '', 'b.yml': '', 'test-config.yml': '' });
    expect(chooseConfigFile({ flag: 'a.yml', env: { QSCALE_CONFIG: 'b.yml' }, cwd: dir })).toEqual({ file: path.join(dir, 'a.yml'), displayName: 'a.yml', origin: '-c' });
    expect(chooseConfigFile({ env: { QSCALE_CONFIG: 'b.yml' }, cwd: dir })).toEqual({ file: path.join(dir, 'b.yml'), displayName: 'b.yml', origin: 'QSCALE_CONFIG' });
  });

  it('finds test-config.yml in this folder, else in the nearest parent', () => {
    const dir = writeProject({ 'test-config.yml': '' });
    mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(path.join(dir, 'sub', 'test-config.yml'), '');
    expect(chooseConfigFile({ env: {}, cwd: dir })).toMatchObject({ file: path.join(dir, 'test-config.yml'), displayName: 'test-config.yml', origin: 'found in .' });
    expect(chooseConfigFile({ env: {}, cwd: path.join(dir, 'sub', 'deeper') })).toEqual({
      file: path.join(dir, 'sub', 'test-config.yml'),
      displayName: path.join('..', 'test-config.yml'),
      origin: 'found in ..',
    });
  });

  it('says where it looked and how to name one when none is found', () => {
    const dir = writeProject({});
    // A test-config.yml in a parent of the temp folder would be found: this asserts the search ends with a usage error.
    const error = errorOf(() => chooseConfigFile({ env: {}, cwd: path.parse(dir).root }));
    expect(error.message).toBe('no test-config.yml in this folder or its parents');
    expect(error.exitCode).toBe(2);
  });
});

describe('loadConfig: discovery, interpolation and overrides', () => {
  it('reads the config of a parent folder and resolves its compose file against that folder', () => {
    const dir = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
    mkdirSync(path.join(dir, 'src', 'jobs'), { recursive: true });
    const config = loadConfig({ cwd: path.join(dir, 'src', 'jobs'), env: {} });
    expect(config.configFile).toBe(path.join('..', '..', 'test-config.yml'));
    expect(config.compose.file).toBe(path.join(dir, 'docker-compose.yml'));
    expect(config.workers.map((worker) => worker.name)).toEqual(['worker-a', 'worker-b']);
  });

  it('resolves project.compose_file against the config folder, named by QSCALE_CONFIG', () => {
    const dir = writeProject({});
    mkdirSync(path.join(dir, 'ops'));
    writeFileSync(path.join(dir, 'ops', 'fleet.yml'), `project:\n  name: demo\n  compose_file: stack.yml\nworkers:\n  worker-a:\n    queue: task_a\n`);
    writeFileSync(path.join(dir, 'ops', 'stack.yml'), SIMPLE_COMPOSE);
    const config = loadConfig({ cwd: dir, env: { QSCALE_CONFIG: 'ops/fleet.yml' } });
    expect(config.configFile).toBe('ops/fleet.yml');
    expect(config.compose.file).toBe(path.join(dir, 'ops', 'stack.yml'));
  });

  it('interpolates ${VAR} from the environment, then the .env beside the config, and retypes numbers', () => {
    const config = `project:\n  name: demo\nbroker:\n  url: amqp://\${BROKER_USER}:\${BROKER_PASSWORD:?set it in .env}@127.0.0.1:5672\nworkers:\n  worker-a:\n    queue: \${QUEUE_A:-task_a}\n    max_replicas: \${MAX_A}\n`;
    const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE, '.env': 'BROKER_USER=fromfile\nBROKER_PASSWORD="s3cret" # comment\nMAX_A=4\n' });
    const loaded = loadConfig({ cwd: dir, env: { BROKER_USER: 'fromenv' } });
    expect(loaded.broker.url).toBe('amqp://fromenv:s3cret@127.0.0.1:5672');
    expect(loaded.workers[0]).toMatchObject({ queue: 'task_a', maxReplicas: 4 });
  });

  it('names the file, YAML path and line of a required variable that is unset', () => {
    const config = `project:\n  name: demo\nbroker:\n  url: amqp://u:\${BROKER_PASSWORD:?set it in .env}@127.0.0.1:5672\nworkers:\n  worker-a:\n    queue: task_a\n`;
    const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE });
    const error = errorOf(() => loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toMatch(/^test-config\.yml: broker\.url: .*BROKER_PASSWORD.*set it in \.env.* \(line 4\)$/);
    expect(error.exitCode).toBe(2);
  });

  it('keeps the line of a value the interpolation left of the wrong type', () => {
    const config = `project:\n  name: demo\nworkers:\n  worker-a:\n    queue: task_a\n    max_replicas: \${MAX_A}x\n`;
    const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE });
    const error = errorOf(() => loadConfig({ cwd: dir, env: { MAX_A: '3' } }));
    expect(error.message).toBe('test-config.yml: workers.worker-a.max_replicas: expected number, got "3x" (line 6)');
  });

  it('warns once about an unset variable, however often it is used', () => {
    const config = `project:\n  name: demo\nworkers:\n  worker-a:\n    queue: task_\${SUFFIX}\n  worker-b:\n    queue: task_b\${SUFFIX}\n`;
    const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE });
    const loaded = loadConfig({ cwd: dir, env: {} });
    expect(loaded.workers.map((worker) => worker.queue)).toEqual(['task_', 'task_b']);
    expect(loaded.compose.warnings.filter((warning) => warning.includes('SUFFIX'))).toEqual(['the "SUFFIX" variable is not set; defaulting to a blank string']);
  });

  it('lets QSCALE_BROKER_URL and QSCALE_MANAGEMENT_URL override the file, and checks their shape', () => {
    const dir = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
    const loaded = loadConfig({ cwd: dir, env: { QSCALE_BROKER_URL: 'amqp://u:p@127.0.0.1:5673', QSCALE_MANAGEMENT_URL: 'http://127.0.0.1:15673' } });
    expect(loaded.broker).toMatchObject({ url: 'amqp://u:p@127.0.0.1:5673', managementUrl: 'http://127.0.0.1:15673' });
    const error = errorOf(() => loadConfig({ cwd: dir, env: { QSCALE_MANAGEMENT_URL: 'amqp://u:secret@127.0.0.1' } }));
    expect(error.message).toBe('QSCALE_MANAGEMENT_URL: must be an http:// or https:// URL');
    expect(error.message).not.toContain('secret');
  });
});
