import { describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '../../../src/core/config/compose-file.js';
import { QscaleError } from '../../../src/core/errors.js';
import { buildServiceSpec, serviceSpecHash, withReplicas } from '../../../src/core/swarm/service-spec.js';

const HASH = expect.stringMatching(/^[0-9a-f]{64}$/);

function definition(overrides: Partial<ServiceDefinition> = {}): ServiceDefinition {
  return { name: 'worker-a', image: 'qscale/worker:local', hasBuild: false, environment: {}, labels: {}, binds: [], ports: [], profiles: [], ...overrides };
}

const FULL = definition({
  command: ['node', 'dist/worker.js', '--verbose'],
  entrypoint: ['/sbin/tini', '--'],
  environment: { QUEUE: 'task_a', BROKER_URL: 'amqp://guest:guest@127.0.0.1:5672' },
  labels: { team: 'queues' },
  networkMode: 'host',
  init: true,
  user: '1000:1000',
  workingDir: '/app',
  binds: ['/srv/data:/data:ro', '/srv/cache:/cache'],
  stopSignal: 'SIGINT',
  stopGracePeriodMs: 15_000,
  healthcheck: { test: ['CMD', 'node', 'health.js'], intervalMs: 10_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 20_000 },
  restart: 'on-failure:3',
  nanoCpus: 500_000_000,
  memoryBytes: 268_435_456,
});

describe('buildServiceSpec', () => {
  it('converts every setting of a compose service, as docker stack deploy does', () => {
    expect(buildServiceSpec('demo', FULL, 3)).toEqual({
      Name: 'demo_worker-a',
      Labels: { 'com.docker.stack.namespace': 'demo', 'com.docker.stack.image': 'qscale/worker:local', 'io.qscale.spec-hash': HASH },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'qscale/worker:local',
          Labels: { team: 'queues', 'com.docker.stack.namespace': 'demo', 'io.qscale.spec-hash': HASH },
          Command: ['/sbin/tini', '--'],
          Args: ['node', 'dist/worker.js', '--verbose'],
          Env: ['QUEUE=task_a', 'BROKER_URL=amqp://guest:guest@127.0.0.1:5672', 'QSCALE_STOP_TIMEOUT_MS=15000'],
          Dir: '/app',
          User: '1000:1000',
          Init: true,
          StopSignal: 'SIGINT',
          StopGracePeriod: 15_000_000_000,
          HealthCheck: { Test: ['CMD', 'node', 'health.js'], Interval: 10_000_000_000, Timeout: 5_000_000_000, Retries: 3, StartPeriod: 20_000_000_000 },
          Mounts: [
            { Type: 'bind', Source: '/srv/data', Target: '/data', ReadOnly: true },
            { Type: 'bind', Source: '/srv/cache', Target: '/cache' },
          ],
        },
        RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
        Resources: { Limits: { NanoCPUs: 500_000_000, MemoryBytes: 268_435_456 } },
        Networks: [{ Target: 'host' }],
      },
      Mode: { Replicated: { Replicas: 3 } },
    });
  });

  it('leaves out what the service does not set; the stop grace period is always explicit (10s)', () => {
    expect(buildServiceSpec('demo', definition(), 1)).toEqual({
      Name: 'demo_worker-a',
      Labels: { 'com.docker.stack.namespace': 'demo', 'com.docker.stack.image': 'qscale/worker:local', 'io.qscale.spec-hash': HASH },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'qscale/worker:local',
          Labels: { 'com.docker.stack.namespace': 'demo', 'io.qscale.spec-hash': HASH },
          Env: ['QSCALE_STOP_TIMEOUT_MS=10000'],
          StopGracePeriod: 10_000_000_000,
        },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
  });

  it.each([
    ['no', { Condition: 'none' }],
    ['always', { Condition: 'any' }],
    ['unless-stopped', { Condition: 'any' }],
    ['on-failure', { Condition: 'on-failure' }],
    ['on-failure:5', { Condition: 'on-failure', MaxAttempts: 5 }],
  ])('restart %s becomes restart policy %j', (restart, policy) => {
    expect(buildServiceSpec('demo', definition({ restart }), 1).TaskTemplate.RestartPolicy).toEqual(policy);
  });

  it.each([
    ['host', [{ Target: 'host' }]],
    ['none', [{ Target: 'none' }]],
    ['fleet_overlay', [{ Target: 'fleet_overlay' }]],
    ['bridge', undefined],
  ])('network_mode %s attaches %j', (networkMode, networks) => {
    expect(buildServiceSpec('demo', definition({ networkMode }), 1).TaskTemplate.Networks).toEqual(networks);
  });

  it('refuses a network_mode Swarm has no equivalent for', () => {
    expect(() => buildServiceSpec('demo', definition({ networkMode: 'container:db' }), 1)).toThrow(
      new QscaleError('USAGE', 'worker-a: network_mode "container:db" has no Swarm equivalent', { hint: 'use network_mode: host, or a swarm-scoped (overlay) network' }),
    );
  });

  it('a disabled healthcheck stays disabled', () => {
    expect(buildServiceSpec('demo', definition({ healthcheck: { test: ['NONE'] } }), 1).TaskTemplate.ContainerSpec.HealthCheck).toEqual({ Test: ['NONE'] });
  });

  it('hashes the spec without its replica count, and the hash moves with any setting', () => {
    const one = buildServiceSpec('demo', FULL, 1);
    const five = buildServiceSpec('demo', FULL, 5);
    expect(five.Labels['io.qscale.spec-hash']).toBe(one.Labels['io.qscale.spec-hash']);
    expect(serviceSpecHash(withReplicas(one, 7))).toBe(one.Labels['io.qscale.spec-hash']);
    const changed = buildServiceSpec('demo', { ...FULL, environment: { ...FULL.environment, QUEUE: 'task_b' } }, 1);
    expect(changed.Labels['io.qscale.spec-hash']).not.toBe(one.Labels['io.qscale.spec-hash']);
    // Key order in the compose file does not matter.
    const reordered = buildServiceSpec('demo', { ...FULL, labels: { b: '2', a: '1' } }, 1);
    expect(reordered.Labels['io.qscale.spec-hash']).toBe(buildServiceSpec('demo', { ...FULL, labels: { a: '1', b: '2' } }, 1).Labels['io.qscale.spec-hash']);
  });
});
