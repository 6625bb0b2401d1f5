import { describe, expect, it } from 'vitest';
import { readSettings } from '../../../templates/worker/src/settings.js';

describe('readSettings', () => {
  it('has defaults for everything but QUEUE', () => {
    expect(readSettings({ QUEUE: 'task_a' })).toEqual({
      brokerUrl: 'amqp://guest:guest@127.0.0.1:5672',
      queue: 'task_a',
      prefetch: 10,
      concurrency: 1,
      work: { workMs: 100, cpu: false, failRate: 0, crashRate: 0 },
      queueType: 'classic',
      maxAttempts: 3,
      resultsQueue: 'qscale.results',
      workerId: undefined,
      logLevel: 'info',
      heartbeatFile: '/tmp/qscale-heartbeat',
      // Docker's default 10 s stop timeout less max(1 s, 10 %).
      drainTimeoutMs: 9_000,
    });
  });

  it('reads the task environment', () => {
    const settings = readSettings({ QUEUE: 'task_b', TASK_MS: '50-200', TASK_CPU: '1', FAIL_RATE: '0.1', PREFETCH: '4', MAX_ATTEMPTS: '5', LOG_LEVEL: 'DEBUG' });
    expect(settings).toMatchObject({ prefetch: 4, maxAttempts: 5, logLevel: 'debug', work: { workMs: { min: 50, max: 200 }, cpu: true, failRate: 0.1 } });
  });

  it('derives the drain deadline from the stop timeout qscale passes, leaving max(1 s, 10 %) before the SIGKILL', () => {
    expect(readSettings({ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '5000' }).drainTimeoutMs).toBe(4_000);
    expect(readSettings({ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '30000' }).drainTimeoutMs).toBe(27_000);
    expect(readSettings({ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '500' }).drainTimeoutMs).toBe(100);
    // stop_grace_period: 0s: the engine kills at once; the worker starts, with the floor as its deadline.
    expect(readSettings({ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '0' }).drainTimeoutMs).toBe(100);
  });

  it('takes DRAIN_TIMEOUT_MS over the stop timeout', () => {
    expect(readSettings({ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '5000', DRAIN_TIMEOUT_MS: '7000' }).drainTimeoutMs).toBe(7_000);
  });

  it('reads QUEUE_TYPE and CRASH_RATE', () => {
    expect(readSettings({ QUEUE: 'q', QUEUE_TYPE: 'Quorum', CRASH_RATE: '0.01' })).toMatchObject({ queueType: 'quorum', work: { crashRate: 0.01 } });
  });

  it('takes TASK_MS=0 as no-op work', () => {
    expect(readSettings({ QUEUE: 'q', TASK_MS: '0' }).work.workMs).toBe(0);
  });

  it.each([
    [{}, 'QUEUE: expected the name of the queue to consume (e.g. task_a), got nothing'],
    [{ QUEUE: 'q', TASK_MS: 'fast' }, 'TASK_MS: expected milliseconds as "100" or a range "50-200", got "fast"'],
    [{ QUEUE: 'q', FAIL_RATE: '1.5' }, 'FAIL_RATE: expected a probability between 0 and 1, got "1.5"'],
    [{ QUEUE: 'q', PREFETCH: '0' }, 'PREFETCH: expected a whole number ≥ 1, got "0"'],
    [{ QUEUE: 'q', TASK_CPU: 'yes' }, 'TASK_CPU: expected 1 or 0, got "yes"'],
    [{ QUEUE: 'q', LOG_LEVEL: 'loud' }, 'LOG_LEVEL: expected debug, info, warn or error, got "loud"'],
    [{ QUEUE: 'q', QUEUE_TYPE: 'stream' }, 'QUEUE_TYPE: expected classic or quorum, got "stream"'],
    [{ QUEUE: 'q', CRASH_RATE: '2' }, 'CRASH_RATE: expected a probability between 0 and 1, got "2"'],
    [{ QUEUE: 'q', QSCALE_STOP_TIMEOUT_MS: '10s' }, 'QSCALE_STOP_TIMEOUT_MS: expected a whole number ≥ 0, got "10s"'],
  ])('%j fails with a message naming the variable', (env, message) => {
    expect(() => readSettings(env)).toThrow(message);
  });
});

describe('BROKER_URL_FILE', () => {
  const files: Record<string, string> = { '/run/secrets/broker_url': 'amqp://app:s3cret@127.0.0.1:5672/\n', '/run/secrets/empty': '\n', '/run/secrets/two': 'amqp://a@h amqp://b@h' };
  const readFile = (file: string) => {
    if (file in files) return files[file];
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
  };

  it('reads the broker URL from the file, without its trailing newline', () => {
    expect(readSettings({ QUEUE: 'q', BROKER_URL_FILE: '/run/secrets/broker_url' }, readFile).brokerUrl).toBe('amqp://app:s3cret@127.0.0.1:5672/');
  });

  it.each([
    [{ BROKER_URL_FILE: '/run/secrets/missing' }, 'BROKER_URL_FILE: cannot read /run/secrets/missing (ENOENT)'],
    [{ BROKER_URL_FILE: '/run/secrets/empty' }, 'BROKER_URL_FILE: /run/secrets/empty does not hold one amqp:// or amqps:// URL'],
    [{ BROKER_URL_FILE: '/run/secrets/two' }, 'BROKER_URL_FILE: /run/secrets/two does not hold one amqp:// or amqps:// URL'],
    [{ BROKER_URL_FILE: '/run/secrets/broker_url', BROKER_URL: 'amqp://127.0.0.1' }, 'BROKER_URL_FILE: BROKER_URL is set too; set one of them'],
  ])('%j is refused naming the variable, never the file content', (env, message) => {
    expect(() => readSettings({ QUEUE: 'q', ...env }, readFile)).toThrow(message);
  });

  it('reads a real file by default', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/qscale-secret-`)}/broker_url`;
    writeFileSync(file, 'amqps://u:p@127.0.0.1:5671\n');
    expect(readSettings({ QUEUE: 'q', BROKER_URL_FILE: file }).brokerUrl).toBe('amqps://u:p@127.0.0.1:5671');
  });
});
