import { describe, expect, it } from 'vitest';
import { parseLoadTestFlags, type LoadTestDefaults, type LoadTestFlags } from '../../../src/core/load-test/options.js';
import { defaultTimeoutMs } from '../../../src/core/load-test/run-load-test.js';

const DEFAULTS: LoadTestDefaults = { tasks: 20, taskMs: '100', payloadSize: 0, failRate: 0, queues: ['task_a', 'task_b'], configFile: 'test-config.yml' };

const parse = (flags: LoadTestFlags, defaults: Partial<LoadTestDefaults> = {}) => parseLoadTestFlags(flags, { ...DEFAULTS, ...defaults });

describe('parseLoadTestFlags', () => {
  it('takes the config defaults', () => {
    expect(parse({})).toEqual({
      queues: ['task_a', 'task_b'],
      tasksPerQueue: 20,
      ratePerSecond: undefined,
      payloadSize: 0,
      workMs: 100,
      failRate: 0,
      crashRate: 0,
      // Computed by the run once it knows the backlog.
      timeoutMs: undefined,
      settleMs: 700,
      brokerTimeoutMs: 60_000,
      purge: false,
      requireConsumers: false,
      thresholds: [{ metric: 'lost', flag: '--max-lost 0 (default)', comparison: '<=', limit: 0 }],
      scaleSteps: undefined,
    });
  });

  it('reads every flag', () => {
    const request = parse({
      tasks: '50',
      queue: ['task_b'],
      rate: '25/s',
      payloadSize: '128',
      taskMs: '50-200',
      failRate: '0.01',
      crashRate: '0.001',
      timeout: '1m',
      brokerTimeout: '20s',
      purge: true,
      requireConsumers: true,
      settle: '2s',
      maxP95: '300ms',
      minThroughput: '100',
      maxLost: '0',
      maxDuplicates: '3',
      maxFailed: '1',
      scaleSteps: '1,2,4',
    });
    expect(request).toEqual({
      queues: ['task_b'],
      tasksPerQueue: 50,
      ratePerSecond: 25,
      payloadSize: 128,
      workMs: { min: 50, max: 200 },
      failRate: 0.01,
      crashRate: 0.001,
      timeoutMs: 60_000,
      settleMs: 2000,
      brokerTimeoutMs: 20_000,
      purge: true,
      requireConsumers: true,
      thresholds: [
        { metric: 'p95', flag: '--max-p95 300ms', comparison: '<=', limit: 300 },
        { metric: 'throughput', flag: '--min-throughput 100', comparison: '>=', limit: 100 },
        { metric: 'lost', flag: '--max-lost 0', comparison: '<=', limit: 0 },
        { metric: 'duplicates', flag: '--max-duplicates 3', comparison: '<=', limit: 3 },
        { metric: 'failed', flag: '--max-failed 1', comparison: '<=', limit: 1 },
      ],
      scaleSteps: [1, 2, 4],
    });
  });

  it('derives the task count from --rate and --duration', () => {
    expect(parse({ rate: '10', duration: '30s' }).tasksPerQueue).toBe(300);
    expect(parse({ rate: '0.5', duration: '3s' }).tasksPerQueue).toBe(2);
  });

  it('leaves the default timeout to the run (it counts the backlog), and takes the config\'s', () => {
    expect(parse({ tasks: '1000', taskMs: '50-200' }).timeoutMs).toBeUndefined();
    expect(defaultTimeoutMs(1000, { min: 50, max: 200 })).toBe(30_000 + 1000 * 200);
    expect(defaultTimeoutMs(1000, 10, 500)).toBe(30_000 + 1500 * 10);
    expect(parse({}, { timeout: '45s' }).timeoutMs).toBe(45_000);
  });

  const errors: Array<[string, LoadTestFlags, string]> = [
    ['rate not a number', { rate: 'abc' }, '--rate: "abc" is not a number'],
    ['rate zero', { rate: '0' }, '--rate: "0" must be more than 0 tasks per second'],
    ['tasks not whole', { tasks: '1.5' }, '--tasks: "1.5" is not a whole number ≥ 1'],
    ['tasks zero', { tasks: '0' }, '--tasks: "0" is not a whole number ≥ 1'],
    ['unknown queue', { queue: ['task_z'] }, '--queue: "task_z" is not a queue of test-config.yml (task_a, task_b)'],
    ['duration without rate', { duration: '30s' }, '--duration needs --rate (tasks per second to each queue)'],
    ['duration and tasks', { duration: '30s', rate: '5', tasks: '9' }, '--tasks and --duration both set the number of tasks; give one'],
    ['bad duration', { duration: 'soon', rate: '5' }, '--duration: "soon" is not a positive duration (examples: 30s, 2m)'],
    ['bad task time', { taskMs: 'fast' }, '--task-ms: "fast" is not a task time in ms (examples: 100, 50-200)'],
    ['inverted task range', { taskMs: '200-50' }, '--task-ms: "200-50" has its maximum below its minimum'],
    ['fail rate above 1', { failRate: '1.5' }, '--fail-rate: "1.5" is not between 0 and 1'],
    ['fail rate not a number', { failRate: 'often' }, '--fail-rate: "often" is not a number'],
    ['negative payload', { payloadSize: '-1' }, '--payload-size: "-1" is not a whole number ≥ 0'],
    ['zero timeout', { timeout: '0s' }, '--timeout: "0s" is not a positive duration (examples: 30s, 2m)'],
    ['bad p95', { maxP95: 'quick' }, '--max-p95: "quick" is not a duration (examples: 300ms, 2s, 1m)'],
    ['bad throughput', { minThroughput: 'lots' }, '--min-throughput: "lots" is not a number'],
    ['bad max lost', { maxLost: '-1' }, '--max-lost: "-1" is not a whole number ≥ 0'],
    ['bad steps', { scaleSteps: '1,two,4' }, '--scale-steps: "two" in "1,two,4" is not a worker count ≥ 1 (example: 1,2,4)'],
    ['zero step', { scaleSteps: '0,1' }, '--scale-steps: "0" in "0,1" is not a worker count ≥ 1 (example: 1,2,4)'],
  ];

  it.each(errors)('%s: a usage error naming the flag', (_name, flags, message) => {
    expect(() => parse(flags)).toThrow(expect.objectContaining({ code: 'USAGE', message }));
  });

  it('names the config field when its default is bad', () => {
    expect(() => parse({}, { taskMs: 'x' })).toThrow('test-config.yml: load_test.task_ms: "x" is not a task time in ms (examples: 100, 50-200)');
    expect(() => parse({}, { timeout: 'later' })).toThrow('test-config.yml: load_test.timeout: "later" is not a duration (examples: 300ms, 2s, 1m)');
  });
});
