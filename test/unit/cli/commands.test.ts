import { describe, expect, it } from 'vitest';
import { QscaleError } from '../../../src/core/errors.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { FakeBrokerAdmin, runCli } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

const NOW = 1_700_000_000_000;

function project(config = SIMPLE_CONFIG) {
  return { cwd: writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE }), engine: new FakeEngine(() => NOW, ['demo/worker:1']) };
}

describe('qscale scale', () => {
  it('scales a service and shows progress on stderr', async () => {
    const setup = project();
    const result = await runCli(['scale', 'worker-a', '3'], setup);
    expect(result).toMatchObject({ code: 0, stdout: '' });
    expect(result.stderr).toContain('worker-a: 0 → 3');
    expect(result.stderr).toMatch(/✔ Container demo-worker-a-3 {2}Started/);
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3']);
  });

  it('prints the outcome as JSON with --json and nothing else', async () => {
    const setup = project();
    const result = await runCli(['scale', 'worker-a', '2', '--json'], setup);
    expect(result.stderr).toBe('');
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ project: 'demo', dryRun: false, services: [{ service: 'worker-a', before: 0, after: 2 }] });
    expect(parsed.services[0].operations.map((operation: { kind: string; target: string }) => `${operation.kind} ${operation.target}`)).toEqual([
      'create demo-worker-a-1',
      'start demo-worker-a-1',
      'create demo-worker-a-2',
      'start demo-worker-a-2',
    ]);
    expect(parsed.services[0].operations[0].cause).toBe('scale up 0 → 2');
  });

  it('prints the plan and changes nothing with --dry-run', async () => {
    const setup = project();
    const result = await runCli(['scale', 'worker-a', '1', '--dry-run'], setup);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('worker-a: 0 → 1\n  create demo-worker-a-1 (image demo/worker:1): scale up 0 → 1\n  start  demo-worker-a-1: scale up 0 → 1\n');
    expect(setup.engine.calls).toEqual([]);
  });

  it.each([
    [['scale', 'worker-a', 'three'], 'error: <count>: "three" is not a whole number ≥ 0\n'],
    [['scale', 'worker-a', '-1'], 'error: <count>: "-1" is not a whole number ≥ 0\n'],
    [['scale', 'worker-a', '2.5'], 'error: <count>: "2.5" is not a whole number ≥ 0\n'],
    [['scale', 'worker-a'], "error: missing required argument 'count'\n"],
    [['scale', 'worker-a', '9'], 'error: worker-a: 9 replicas exceeds its max_replicas (5); nothing changed\n'],
    [['scale', 'worker-z', '1'], 'error: unknown worker service "worker-z" (test-config.yml names: worker-a, worker-b)\n'],
    [['scale', 'worker-a', '1', '--timeout', 'soon'], 'error: --timeout: "soon" is not a duration (examples: 30, 30s, 1m)\n'],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    const setup = project();
    const result = await runCli(args, setup);
    expect(result).toEqual({ code: 2, stdout: '', stderr: message });
    expect(setup.engine.calls).toEqual([]);
  });

  it('refuses to scale when scaling is disabled in the config', async () => {
    const setup = project(`${SIMPLE_CONFIG}system:\n  scaling:\n    enabled: false\n`);
    const result = await runCli(['scale-all', '1'], setup);
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: scaling is disabled (test-config.yml: system.scaling.enabled is false); nothing changed\n' });
    expect(setup.engine.calls).toEqual([]);
  });

  it('reports a config error with file, path and line, exit 2', async () => {
    const setup = project(SIMPLE_CONFIG.replace('max_replicas: 5', 'max_replicas: many'));
    const result = await runCli(['scale', 'worker-a', '1'], setup);
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: test-config.yml: workers.worker-a.max_replicas: expected number, got "many" (line 7)\n' });
  });

  it('reports an unreachable engine in one line with a hint, exit 1', async () => {
    const setup = project();
    setup.engine.listContainers = async () => {
      throw new QscaleError('DOCKER_UNREACHABLE', 'cannot reach the Docker engine at unix:///var/run/docker.sock (ENOENT)', { hint: 'start it with `make setup`' });
    };
    const result = await runCli(['scale', 'worker-a', '1'], setup);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: cannot reach the Docker engine at unix:///var/run/docker.sock (ENOENT) — start it with `make setup`\n' });
  });

  it('reports an unexpected failure without a stack trace', async () => {
    const setup = project();
    setup.engine.listContainers = async () => {
      throw new Error('socket hang up\n    at Object.<anonymous> (x.js:1:1)');
    };
    const result = await runCli(['ps'], setup);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: socket hang up\n' });
  });
});

describe('qscale scale-all, up and down', () => {
  it('scale-all scales every worker service, and refuses all when one is out of bounds', async () => {
    const setup = project();
    expect((await runCli(['scale-all', '4'], setup)).stderr).toBe('error: worker-b: 4 replicas exceeds its max_replicas (3); nothing changed\n');
    expect(setup.engine.calls).toEqual([]);
    expect((await runCli(['scale-all', '2', '-q'], setup))).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-b-1', 'demo-worker-b-2']);
  });

  it('up starts initial replicas, keeps hand-scaled counts, and --reset restores them', async () => {
    const setup = project();
    await runCli(['up', '-q'], setup);
    expect(setup.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-b-1']);
    await runCli(['scale', 'worker-a', '4', '-q'], setup);
    await runCli(['up', '-q'], setup);
    expect(setup.engine.names('running').filter((name) => name.includes('worker-a'))).toHaveLength(4);
    await runCli(['up', '--reset', '-q'], setup);
    expect(setup.engine.names('running').filter((name) => name.includes('worker-a'))).toHaveLength(2);
  });

  it('down removes every container of the project, including ones Compose made', async () => {
    const setup = project();
    await runCli(['up', '-q'], setup);
    setup.engine.seed('demo_other_1', { [LABEL.project]: 'demo', [LABEL.service]: 'other', [LABEL.oneoff]: 'False', [LABEL.containerNumber]: '1' });
    setup.engine.seed('elsewhere-1', { [LABEL.project]: 'elsewhere', [LABEL.service]: 'worker-a', [LABEL.oneoff]: 'False' });
    const result = await runCli(['down', '--json'], setup);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).removed.sort()).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-b-1', 'demo_other_1']);
    expect(setup.engine.names()).toEqual(['elsewhere-1']);
  });
});

describe('qscale ps and status', () => {
  it('ps lists containers as JSON', async () => {
    const setup = project();
    await runCli(['scale', 'worker-a', '2', '-q'], setup);
    const rows = JSON.parse((await runCli(['ps', '--json'], setup)).stdout);
    expect(rows.map((row: { name: string; service: string; number: number; state: string; createdBy: string }) => [row.name, row.service, row.number, row.state, row.createdBy])).toEqual([
      ['demo-worker-a-1', 'worker-a', 1, 'running', 'qscale'],
      ['demo-worker-a-2', 'worker-a', 2, 'running', 'qscale'],
    ]);
  });

  it('ps refuses an unknown service', async () => {
    const result = await runCli(['ps', 'nope'], project());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown service "nope" \(not in .*docker-compose\.yml\)\n$/);
  });

  it('status joins Docker and broker figures', async () => {
    const setup = project();
    await runCli(['scale', 'worker-a', '2', '-q'], setup);
    const broker = new FakeBrokerAdmin(new Map([
        ['task_a', { queue: 'task_a', ready: 7, unacked: 3, consumers: 2 }],
        ['task_a.dlq', { queue: 'task_a.dlq', ready: 4, unacked: 0, consumers: 0 }],
        ['task_a.quarantine', { queue: 'task_a.quarantine', ready: 2, unacked: 1, consumers: 2 }],
      ]));
    const status = JSON.parse((await runCli(['status', '--json'], { ...setup, openBroker: async () => broker })).stdout);
    expect(status.services).toEqual([
      // The quarantine queue holds the service's tasks too: counted with the task queue.
      { service: 'worker-a', queue: 'task_a', running: 2, desired: 2, min: 1, max: 5, healthy: 0, unhealthy: 0, broker: { queue: 'task_a', ready: 9, unacked: 4, consumers: 2 }, quarantined: 2, deadLettered: 4 },
      { service: 'worker-b', queue: 'task_b', running: 0, desired: 0, min: 0, max: 3, healthy: 0, unhealthy: 0, broker: null, quarantined: null, deadLettered: null },
    ]);
    expect(status.broker).toEqual({ endpoint: 'amqp://guest:***@127.0.0.1:5672', reachable: true, notes: [] });
    expect(status.warnings).toEqual([]);
  });

  it('status still shows Docker when the broker is unreachable, and never prints the password', async () => {
    const setup = project(SIMPLE_CONFIG.replace('project:', 'broker:\n  url: amqp://admin:s3cret@127.0.0.1:5999\nproject:'));
    await runCli(['scale', 'worker-a', '1', '-q'], setup);
    const openBroker = async () => {
      throw new QscaleError('BROKER_UNREACHABLE', 'cannot reach the broker at amqp://admin:s3cret@127.0.0.1:5999 (ECONNREFUSED)');
    };
    const table = await runCli(['status'], { ...setup, openBroker });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/worker-a +task_a +1\/1 +1\.\.5 +- +n\/a +n\/a +n\/a +-/);
    expect(table.stdout.split('\n').filter((line) => line.startsWith('broker'))).toEqual(['broker: cannot reach the broker at amqp://admin:***@127.0.0.1:5999 (ECONNREFUSED)']);
    const json = await runCli(['status', '--json'], { ...setup, openBroker });
    expect(json.stdout).not.toContain('s3cret');
    expect(JSON.parse(json.stdout).broker).toMatchObject({ reachable: false, endpoint: 'amqp://admin:***@127.0.0.1:5999' });
    // Nothing from the broker: a script must not read the JSON as empty queues.
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('error: nothing could be read from the broker: cannot reach the broker at amqp://admin:***@127.0.0.1:5999 (ECONNREFUSED)\n');
  });
});
