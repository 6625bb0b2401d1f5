import { describe, expect, it } from 'vitest';
import { brokerUnreachable } from '../../../src/adapters/rabbitmq/broker-admin.js';
import { QscaleError } from '../../../src/core/errors.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { BrokerAdmin, QueueStats } from '../../../src/core/ports/broker.js';
import { FakeBrokerAdmin, runCli } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

const NOW = 1_700_000_000_000;

function project(compose = SIMPLE_COMPOSE, config = SIMPLE_CONFIG) {
  const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
  engine.seed('demo-worker-a-1', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' });
  return { cwd: writeProject({ 'test-config.yml': config, 'docker-compose.yml': compose }), engine };
}

const failing = (error: Error) => async (): Promise<BrokerAdmin> => {
  throw error;
};

/** The lines under the table: what status says about the broker and the config. */
function notices(stdout: string): string[] {
  return stdout.split('\n').filter((line) => /^(broker|warning):/.test(line));
}

describe('status and the broker', () => {
  it.each([
    ['a missing vhost (management API)', new QscaleError('BROKER_FAILED', 'the broker at amqp://guest:***@127.0.0.1:5672/novhost has no vhost "novhost"')],
    ['refused credentials', brokerUnreachable('amqp://guest:wrong@127.0.0.1:5672', new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"'))],
    ['no broker on the port', brokerUnreachable('amqp://admin:s3cret@127.0.0.1:5999', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }))],
  ])('%s: one line naming the broker, Docker figures still shown, exit 0; --json exits 1', async (_, error) => {
    const setup = project();
    const table = await runCli(['status'], { ...setup, openBroker: failing(error) });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/worker-a +task_a +1\/1 +1\.\.5 +- +n\/a +n\/a +n\/a +-/);
    expect(notices(table.stdout)).toEqual([`broker: ${error.message}`]);
    expect(table.stdout).not.toContain('s3cret');
    const json = await runCli(['status', '--json'], { ...setup, openBroker: failing(error) });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).broker).toEqual({ endpoint: 'amqp://guest:***@127.0.0.1:5672', reachable: false, error: error.message, notes: [] });
    expect(json.stderr).toBe(`error: nothing could be read from the broker: ${error.message}\n`);
  });

  it('masks a password the broker client left in its error, in the table, the JSON and stderr', async () => {
    const setup = project();
    const error = new Error('connect ECONNREFUSED (amqp://admin:s3cret@127.0.0.1:5999)');
    const table = await runCli(['status'], { ...setup, openBroker: failing(error) });
    expect(notices(table.stdout)).toEqual(['broker: connect ECONNREFUSED (amqp://admin:***@127.0.0.1:5999)']);
    const json = await runCli(['status', '--json'], { ...setup, openBroker: failing(error) });
    expect(JSON.parse(json.stdout).broker.error).toBe('connect ECONNREFUSED (amqp://admin:***@127.0.0.1:5999)');
    expect(json.stderr).toBe('error: nothing could be read from the broker: connect ECONNREFUSED (amqp://admin:***@127.0.0.1:5999)\n');
    expect(table.stdout + table.stderr + json.stdout + json.stderr).not.toContain('s3cret');
  });

  it('figures from the management API alone carry the note, and --json exits 0', async () => {
    const setup = project();
    const admin = Object.assign(new FakeBrokerAdmin(new Map<string, QueueStats | undefined>([['task_a', { queue: 'task_a', ready: 5, unacked: 1, consumers: 1 }]])), {
      notes: ['figures from the management API alone (up to 5 s old): cannot reach the broker at amqp://guest:***@127.0.0.1:5999 (ECONNREFUSED)'],
    });
    const table = await runCli(['status'], { ...setup, openBroker: async () => admin });
    expect(table.stdout).toMatch(/worker-a +task_a +1\/1 +1\.\.5 +- +5 +1 +1 +-/);
    expect(notices(table.stdout)).toEqual(['broker: figures from the management API alone (up to 5 s old): cannot reach the broker at amqp://guest:***@127.0.0.1:5999 (ECONNREFUSED)']);
    const json = await runCli(['status', '--json'], { ...setup, openBroker: async () => admin });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).broker.notes).toEqual(admin.notes);
  });

  it('warns when the compose service reads another queue than the config names, in the table and, with --json, on stderr', async () => {
    const setup = project(SIMPLE_COMPOSE.replace('QUEUE: task_a', 'QUEUE: task_x'));
    const openBroker = async () => new FakeBrokerAdmin(new Map());
    const message = 'worker-a: test-config.yml says queue task_a, but its service in docker-compose.yml sets QUEUE=task_x: its workers read task_x, so status and load tests watch a queue none of them reads';
    const table = await runCli(['status'], { ...setup, openBroker });
    expect(notices(table.stdout)).toEqual([`warning: ${message}`]);
    const json = await runCli(['status', '--json'], { ...setup, openBroker });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).warnings).toEqual([message]);
    expect(json.stderr).toBe(`warning: ${message}\n`);
  });

  it('up warns of the same mismatch before it starts anything', async () => {
    const setup = project(SIMPLE_COMPOSE.replace('QUEUE: task_a', 'QUEUE: task_x'));
    const result = await runCli(['up', '--dry-run'], setup);
    expect(result.stderr.split('\n')[0]).toBe('warning: worker-a: test-config.yml says queue task_a, but its service in docker-compose.yml sets QUEUE=task_x: its workers read task_x, so status and load tests watch a queue none of them reads');
  });
});

describe('brokerUnreachable', () => {
  it.each([
    [
      'amqp://guest:wrong@127.0.0.1:5672',
      new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."'),
      'the broker at amqp://guest:***@127.0.0.1:5672 refused the credentials of user "guest" (ACCESS_REFUSED)',
    ],
    [
      'amqp://app:pw@127.0.0.1:5672/orders',
      new Error('Expected ConnectionOpenOk; got <ConnectionClose channel:0>'),
      'the broker at amqp://app:***@127.0.0.1:5672/orders would not open vhost "orders": it does not exist, or user "app" may not use it',
    ],
    [
      'amqp://guest:guest@127.0.0.1:5999',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5999'), { code: 'ECONNREFUSED' }),
      'cannot reach the broker at amqp://guest:***@127.0.0.1:5999 (ECONNREFUSED)',
    ],
  ])('%s: %s', (url, error, message) => {
    const mapped = brokerUnreachable(url, error);
    expect(mapped.message).toBe(message);
    expect(mapped.exitCode).toBe(1);
  });
});
