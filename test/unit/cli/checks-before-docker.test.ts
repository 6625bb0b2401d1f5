import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { QscaleError } from '../../../src/core/errors.js';
import type { ContainerEngine } from '../../../src/core/ports/container-engine.js';
import type { ContainerLogSource } from '../../../src/core/ports/container-logs.js';
import type { SwarmApi } from '../../../src/core/ports/swarm.js';
import { CapturedStream, testDependencies } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

/**
 * An engine (and its Swarm API) that cannot be reached: every method call is recorded, then
 * fails as an unreachable engine does. A usage error must come before any call.
 */
function unreachable<T extends object>(calls: string[], prefix: string): T {
  return new Proxy({} as T, {
    get(_target, name) {
      if (name === 'endpoint') return 'unix:///var/run/docker.sock';
      if (typeof name !== 'string' || name === 'then' || name === 'connectionWarnings') return undefined;
      return (..._args: unknown[]) => {
        calls.push(`${prefix}${name}`);
        return Promise.reject(new QscaleError('DOCKER_UNREACHABLE', 'cannot reach the Docker engine at unix:///var/run/docker.sock (ENOENT)'));
      };
    },
  });
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cwd = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
  const calls: string[] = [];
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const deps = testDependencies({
    cwd,
    env,
    stdout,
    stderr,
    createEngine: () => unreachable<ContainerEngine & ContainerLogSource>(calls, ''),
    createSwarm: () => unreachable<SwarmApi>(calls, 'swarm.'),
    openBroker: async () => {
      calls.push('broker');
      throw new Error('no broker in this test');
    },
  });
  const code = await main(['node', 'qscale', ...args], deps, new AbortController().signal);
  return { code, stderr: stderr.text, calls };
}

describe('checks that need no Docker come before Docker is contacted', () => {
  it.each([
    [['scale', 'worker-a', '99'], 'worker-a: 99 replicas exceeds its max_replicas (5); nothing changed'],
    [['scale', 'worker-a', '0'], 'worker-a: 0 replicas is below its min_replicas (1); nothing changed'],
    [['scale', 'worker-z', '1'], 'unknown worker service "worker-z"'],
    [['scale', 'worker-a', '1', '--timeout', 'soon'], '--timeout: "soon" is not a duration'],
    [['scale-all', '9'], 'worker-a: 9 replicas exceeds its max_replicas (5); nothing changed'],
    [['scale-all', '1', '--timeout', 'soon'], '--timeout: "soon"'],
    [['up', '--timeout', 'soon'], '--timeout: "soon"'],
    [['down', '--timeout', 'soon'], '--timeout: "soon"'],
    [['ps', 'worker-z'], 'unknown service "worker-z"'],
    [['logs', 'worker-z'], 'unknown service "worker-z"'],
    [['logs', '--tail', 'many'], '--tail: "many"'],
    [['logs', '--since', 'yesterday'], '--since: "yesterday"'],
    [['events', 'worker-z'], 'unknown service "worker-z"'],
    [['status', '--watch', 'often'], '--watch: "often"'],
  ])('%j exits 2 without a call to the engine', async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
    expect(result.calls).toEqual([]);
  });

  it.each([['status'], ['ps'], ['scale', 'worker-a', '1']])('%j exits 2 on a bad QSCALE_MANAGEMENT_URL without a call to the engine', async (...args) => {
    const result = await run(args, { QSCALE_MANAGEMENT_URL: 'ftp://127.0.0.1' });
    expect(result).toEqual({ code: 2, stderr: 'error: QSCALE_MANAGEMENT_URL: must be an http:// or https:// URL\n', calls: [] });
  });

  it('a valid request does reach the (unreachable) engine and exits 1: the fake records calls', async () => {
    const result = await run(['scale', 'worker-a', '2']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach the Docker engine');
    expect(result.calls.length).toBeGreaterThan(0);
  });
});
