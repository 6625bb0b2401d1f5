import { describe, expect, it } from 'vitest';
import { openBrokerAdmin } from '../../src/adapters/rabbitmq/broker-admin.js';
import { writeProject } from '../support/fixtures.js';
import { qscale, uniqueName } from './support/real-cli.js';

/**
 * What `status` says about the real broker when it is misconfigured: the broker's answers as they
 * are (a missing vhost, refused credentials, no AMQP listener while management answers).
 */

const MANAGEMENT = 'http://127.0.0.1:15672';

async function messageOf(open: Promise<unknown>): Promise<string> {
  return open.then(
    () => 'opened',
    (error: Error) => error.message,
  );
}

describe('openBrokerAdmin against the real broker', () => {
  it('names a missing vhost, through the management API and through AMQP alone', async () => {
    const vhost = uniqueName('novhost');
    expect(await messageOf(openBrokerAdmin(`amqp://guest:guest@127.0.0.1:5672/${vhost}`, MANAGEMENT))).toBe(`the broker at amqp://guest:***@127.0.0.1:5672/${vhost} has no vhost "${vhost}"`);
    expect(await messageOf(openBrokerAdmin(`amqp://guest:guest@127.0.0.1:5672/${vhost}`))).toBe(
      `the broker at amqp://guest:***@127.0.0.1:5672/${vhost} would not open vhost "${vhost}": it does not exist, or user "guest" may not use it`,
    );
  });

  it('names refused credentials, password masked', async () => {
    expect(await messageOf(openBrokerAdmin('amqp://guest:wrong-pw@127.0.0.1:5672', MANAGEMENT))).toBe('the broker at amqp://guest:***@127.0.0.1:5672 refused the credentials of user "guest" (ACCESS_REFUSED)');
  });

  it('reads from the management API alone, with a note, when AMQP does not answer', async () => {
    const admin = await openBrokerAdmin('amqp://guest:guest@127.0.0.1:5999', MANAGEMENT);
    try {
      expect(admin.notes).toEqual(['figures from the management API alone (up to 5 s old): cannot reach the broker at amqp://guest:***@127.0.0.1:5999 (ECONNREFUSED)']);
      expect((await admin.queueStats([uniqueName('absent')])).size).toBe(1);
    } finally {
      await admin.close();
    }
  });

  it('has no notes when both sides answer', async () => {
    const admin = await openBrokerAdmin('amqp://guest:guest@127.0.0.1:5672', MANAGEMENT);
    try {
      expect(admin.notes).toEqual([]);
    } finally {
      await admin.close();
    }
  });
});

describe('qscale status --json against a misconfigured broker', () => {
  it('exits 1 with one line naming the broker when nothing could be read', async () => {
    const vhost = uniqueName('novhost');
    const cwd = writeProject({
      'docker-compose.yml': 'services:\n  w:\n    image: qscale/node-base:local\n    network_mode: host\n',
      'test-config.yml': `project:\n  name: ${uniqueName('it-status')}\nbroker:\n  url: amqp://guest:guest@127.0.0.1:5672/${vhost}\n  management_url: ${MANAGEMENT}\nworkers:\n  w:\n    queue: q\n`,
    });
    const result = await qscale(cwd, 'status', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).broker).toMatchObject({ reachable: false });
    expect(result.stderr).toBe(`error: nothing could be read from the broker: the broker at amqp://guest:***@127.0.0.1:5672/${vhost} has no vhost "${vhost}"\n`);
  });
});
