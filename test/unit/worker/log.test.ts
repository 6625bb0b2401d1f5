import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../templates/worker/src/log.js';

describe('createLogger', () => {
  const capture = (level: 'debug' | 'info') => {
    const out: string[] = [];
    const err: string[] = [];
    const log = createLogger(level, { workerId: 'w1' }, { out: (line) => out.push(line), err: (line) => err.push(line) }, () => 0);
    return { log, out, err };
  };

  it('writes one JSON line, masks URL passwords, sends warnings to stderr', () => {
    const { log, out, err } = capture('info');
    log.info('starting', { broker: 'amqp://guest:s3cret@127.0.0.1:5672' });
    log.warn('lost', { error: 'x' });
    expect(out).toEqual(['{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"starting","workerId":"w1","broker":"amqp://guest:***@127.0.0.1:5672"}']);
    expect(err).toEqual(['{"time":"1970-01-01T00:00:00.000Z","level":"warn","msg":"lost","workerId":"w1","error":"x"}']);
  });

  it('masks in linear time: a long unbroken word in a line costs no quadratic scan', () => {
    const { log, out } = capture('info');
    const word = 'a'.repeat(200_000);
    const startedAt = performance.now();
    log.info('x', { error: `${word} amqp://u:p@h` });
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(out[0]).toContain(`${word} amqp://u:***@h`);
  });

  it('drops lines below its level', () => {
    const { log, out } = capture('info');
    log.debug('task');
    expect(out).toEqual([]);
    const verbose = capture('debug');
    verbose.log.debug('task', { taskId: 't' });
    expect(verbose.out).toHaveLength(1);
  });

  it('tells which levels it writes', () => {
    const { log } = capture('info');
    expect((['debug', 'info', 'warn', 'error'] as const).map((level) => log.enabled(level))).toEqual([false, true, true, true]);
    expect(capture('debug').log.enabled('debug')).toBe(true);
  });
});
