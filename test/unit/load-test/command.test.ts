import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliDependencies } from '../../../src/cli/dependencies.js';
import { Interrupt, QscaleError } from '../../../src/core/errors.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { CapturedStream } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';
import { FakeClock, FakeTaskBroker, type FakeTaskBrokerOptions } from './fakes.js';

interface Setup {
  cwd: string;
  clock: FakeClock;
  engine: FakeEngine;
  brokers: FakeTaskBroker[];
  opened: string[];
  brokerOptions: Partial<FakeTaskBrokerOptions> & { down?: boolean; onOpen?: (broker: FakeTaskBroker) => void };
}

function project(config = SIMPLE_CONFIG, brokerOptions: Setup['brokerOptions'] = {}): Setup {
  const clock = new FakeClock();
  return {
    cwd: writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE }),
    clock,
    engine: new FakeEngine(() => clock.now(), ['demo/worker:1']),
    brokers: [],
    opened: [],
    brokerOptions,
  };
}

async function run(setup: Setup, args: string[], options: { signal?: AbortSignal; confirm?: (question: string) => Promise<boolean | undefined> } = {}) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const deps: CliDependencies = {
    env: {},
    cwd: setup.cwd,
    stdout,
    stderr,
    clock: setup.clock,
    createEngine: () => setup.engine,
    openBroker: async () => {
      throw new Error('load-test must not use the admin broker');
    },
    openTaskBroker: async (url) => {
      setup.opened.push(url);
      if (setup.brokerOptions.down) throw new QscaleError('BROKER_UNREACHABLE', 'cannot reach the broker at amqp://guest:***@127.0.0.1:5672 (ECONNREFUSED)');
      const broker = new FakeTaskBroker({ clock: setup.clock, confirmDelayMs: 1, ...setup.brokerOptions });
      setup.brokers.push(broker);
      setup.brokerOptions.onOpen?.(broker);
      return broker;
    },
    newRunId: () => `run${setup.opened.length + 1}`,
    confirm: options.confirm,
  };
  const code = await main(['node', 'qscale', 'load-test', ...args], deps, options.signal ?? new AbortController().signal);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('qscale load-test', () => {
  it('runs against every queue of the config and prints the summary', async () => {
    const setup = project();
    const result = await run(setup, ['--tasks', '4']);
    expect(result.code).toBe(0);
    expect(setup.brokers[0].published.map(({ queue }) => queue)).toEqual(['task_a', 'task_b', 'task_a', 'task_b', 'task_a', 'task_b', 'task_a', 'task_b']);
    expect(setup.brokers[0].published[0].replyTo).toBe('qscale.results.run1');
    expect(result.stdout).toContain('load test run1 · 2 queues × 4 tasks · full speed · task 100ms');
    // QUEUE SENT CONFIRMED UNCONFIRMED RECOVERED COMPLETED FAILED PENDING LOST DUPLICATES RETRIES
    expect(result.stdout).toMatch(/^all +8 +8 +0 +0 +8 +0 +0 +0 +0 +0 /m);
    expect(result.stderr).toContain('run1: sent 8/8 · confirmed 8 · completed 8');
    expect(setup.brokers[0].calls.at(-1)).toBe('close');
  });

  it('prints one JSON document with --json and writes the same to --out', async () => {
    const setup = project();
    const result = await run(setup, ['--tasks', '3', '--queue', 'task_b', '--json', '--out', 'run.json']);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ schema: 'qscale.load-test/v2', outcome: 'finished', runId: 'run1', settings: { queues: ['task_b'], tasksPerQueue: 3 }, overall: { sent: 3, completed: 3, lost: 0 } });
    expect(JSON.parse(readFileSync(path.join(setup.cwd, 'run.json'), 'utf8'))).toEqual(document);
    expect(result.stderr).toContain('wrote run.json');
  });

  it('exits 99 when a threshold fails, after printing the summary that says which', async () => {
    // n = 0: taken by a worker, then its result never came: the broker no longer holds it.
    const setup = project(SIMPLE_CONFIG, { respond: (_task, _queue, n) => (n === 0 ? [{ delayMs: 10, outcome: 'completed', body: 'garbage' }] : [{ delayMs: 10, outcome: 'completed' }]) });
    const result = await run(setup, ['--tasks', '2', '--max-lost', '0', '--max-p95', '1s', '--timeout', '2s']);
    expect(result.code).toBe(99);
    expect(result.stdout).toContain('✘ --max-lost 0: lost 1 > 0');
    expect(result.stdout).toContain('✔ --max-p95 1s: p95 latency 10ms ≤ 1000ms');
    expect(result.stderr).toContain('error: threshold failed: --max-lost 0: lost 1 > 0');
  });

  it('exits 0 when every threshold holds', async () => {
    const setup = project();
    const result = await run(setup, ['--tasks', '2', '--max-lost', '0', '--min-throughput', '1']);
    expect(result.code).toBe(0);
  });

  it.each([
    [['--rate', 'abc'], 'error: --rate: "abc" is not a number\n'],
    [['--tasks', 'many'], 'error: --tasks: "many" is not a whole number ≥ 1\n'],
    [['--queue', 'nope'], 'error: --queue: "nope" is not a queue of test-config.yml (task_a, task_b)\n'],
    [['--max-p95', 'fast'], 'error: --max-p95: "fast" is not a duration (examples: 300ms, 2s, 1m)\n'],
    [['--out', '/nonexistent-dir/x.json'], 'error: --out: cannot write /nonexistent-dir/x.json (ENOENT)\n'],
    [['--out', '/tmp'], 'error: --out: cannot write /tmp (it is a directory; give a file name)\n'],
    [['--crash-rate', '2'], 'error: --crash-rate: "2" is not between 0 and 1\n'],
    [['--broker-timeout', 'soon'], 'error: --broker-timeout: "soon" is not a duration (examples: 300ms, 2s, 1m)\n'],
    [['--yes'], 'error: --yes: only confirms --purge, which was not given\n'],
    [['--purge'], 'error: --purge: there is no terminal to confirm on; add --yes to purge without asking\n'],
  ])('bad input %o: one line, exit 2, nothing published', async (args, message) => {
    const setup = project();
    const result = await run(setup, args);
    expect(result).toEqual({ code: 2, stdout: '', stderr: message });
    expect(setup.opened).toEqual([]);
  });

  it('compares two result files side by side', async () => {
    const setup = project();
    await run(setup, ['--tasks', '5', '--out', 'a.json', '-q']);
    setup.brokerOptions.respond = () => [{ delayMs: 40, outcome: 'completed' }];
    await run(setup, ['--tasks', '5', '--out', 'b.json', '-q']);
    const result = await run(setup, ['--compare', 'a.json', 'b.json']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^latency p50 \(ms\) +10 +40 +4×/m);
    expect(result.stdout).toContain('A = run1, B = run2');
    const json = await run(setup, ['--compare', 'a.json', 'b.json', '--json']);
    expect(JSON.parse(json.stdout).rows.find((row: { metric: string }) => row.metric === 'latency p50 (ms)')).toEqual({ metric: 'latency p50 (ms)', better: 'lower', a: 10, b: 40, ratio: 4 });
  });

  it('refuses --compare with anything but two readable result files', async () => {
    const setup = project();
    writeFileSync(path.join(setup.cwd, 'bad.json'), '{"schema":"x"}');
    expect(await run(setup, ['--compare', 'a.json'])).toMatchObject({ code: 2, stderr: 'error: --compare: needs exactly two files, got 1\n' });
    expect(await run(setup, ['--compare', 'missing.json', 'bad.json'])).toMatchObject({ code: 2, stderr: 'error: --compare: cannot read missing.json (ENOENT)\n' });
    expect((await run(setup, ['--compare', 'bad.json', 'bad.json'])).stderr).toContain('error: bad.json: not a qscale load-test result (schema "x"; expected "qscale.load-test/v2" or "qscale.load-test/v1")');
    await run(setup, ['--tasks', '2', '--out', 'good.json', '-q']);
    const document = JSON.parse(readFileSync(path.join(setup.cwd, 'good.json'), 'utf8'));
    document.overall.throughput = 'fast';
    writeFileSync(path.join(setup.cwd, 'wrong.json'), JSON.stringify(document));
    expect(await run(setup, ['--compare', 'good.json', 'wrong.json'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'error: wrong.json: field overall.throughput: expected number, received string — write one with `qscale load-test --out file.json`\n',
    });
  });

  it('on Ctrl-C prints the partial report, writes the partial document marked interrupted, exits 130', async () => {
    const setup = project(SIMPLE_CONFIG, { respond: (_task, _queue, n) => (n < 3 ? [{ delayMs: 10, outcome: 'completed' }] : []) });
    const controller = new AbortController();
    setup.clock.schedule(1000, () => controller.abort(new Interrupt('SIGINT')));
    const result = await run(setup, ['--tasks', '5', '--out', 'partial.json'], { signal: controller.signal });
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('interrupted by SIGINT: partial figures');
    expect(result.stdout).toMatch(/^all +10 +10 +0 +0 +3 +0 +7 +0 /m);
    expect(result.stderr).toContain("interrupted (SIGINT): the report above is partial; workers were told to drop the run's remaining tasks");
    expect(result.stderr).not.toContain('error:');
    const document = JSON.parse(readFileSync(path.join(setup.cwd, 'partial.json'), 'utf8'));
    expect(document).toMatchObject({ outcome: 'interrupted', interrupted: 'SIGINT', overall: { sent: 10, completed: 3, pending: 7, lost: 0 } });
    expect(setup.brokers[0].controls).toEqual([{ type: 'cancel-run', run: 'run1', until: expect.any(Number) }]);
  });

  it('on SIGTERM exits 143 with the partial --json document', async () => {
    const setup = project(SIMPLE_CONFIG, { respond: () => [] });
    const controller = new AbortController();
    setup.clock.schedule(1000, () => controller.abort(new Interrupt('SIGTERM')));
    const result = await run(setup, ['--tasks', '5', '--json'], { signal: controller.signal });
    expect(result.code).toBe(143);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'interrupted', interrupted: 'SIGTERM', overall: { pending: 10 } });
  });

  it('a timed-out run with pending tasks exits 1 and says why, with a --timeout to try', async () => {
    const setup = project(SIMPLE_CONFIG, { respond: () => [], backlog: { task_a: 1000 } });
    const result = await run(setup, ['--tasks', '5', '--queue', 'task_a', '--timeout', '3s']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('task_a already holds 1,000 messages; results will wait behind them');
    expect(result.stdout).toContain('5 tasks still in the broker at the end (pending, not lost)');
    expect(result.stderr).toContain(
      'error: timed out after 3s with 5 tasks still pending in the broker: task_a had 1,000 messages ahead of the run — wait for the backlog, use --purge, or give it --timeout 131s',
    );
  });

  it('a queue with no consumer: a warning, then pending not lost, exit 1; with --require-consumers exit 1 before publishing', async () => {
    const setup = project(SIMPLE_CONFIG, { respond: () => [], consumers: () => 0 });
    const warned = await run(setup, ['--tasks', '3', '--queue', 'task_a', '--timeout', '3s', '--json']);
    expect(warned.code).toBe(1);
    expect(warned.stderr).toContain('task_a has no consumer: its tasks will wait in the queue');
    expect(JSON.parse(warned.stdout).overall).toMatchObject({ pending: 3, lost: 0 });
    expect(warned.stderr).toContain('task_a had no consumer — start the workers (`qscale up`), then run again');
    const refused = await run(setup, ['--tasks', '3', '--queue', 'task_a', '--require-consumers']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toContain('error: task_a has no consumer: its tasks will wait in the queue — start its workers');
    expect(setup.brokers[1].published).toEqual([]);
  });

  it('--purge asks on a terminal, and publishes nothing when the answer is no', async () => {
    const setup = project(SIMPLE_CONFIG, { backlog: { task_a: 50 } });
    const questions: string[] = [];
    const declined = await run(setup, ['--tasks', '2', '--queue', 'task_a', '--purge'], { confirm: async (question) => (questions.push(question), false) });
    expect(declined).toMatchObject({ code: 2, stderr: 'error: --purge: not confirmed; nothing was published\n' });
    expect(questions).toEqual(["empty task_a before publishing? other producers' messages are deleted too"]);
    expect(setup.opened).toEqual([]);
    const confirmed = await run(setup, ['--tasks', '2', '--queue', 'task_a', '--purge'], { confirm: async () => true });
    expect(confirmed.code).toBe(0);
    expect(setup.brokers[0].calls).toContain('purgeQueue task_a');
    const unattended = await run(setup, ['--tasks', '2', '--queue', 'task_a', '--purge', '--yes'], { confirm: async () => undefined });
    expect(unattended.code).toBe(0);
    expect(unattended.stderr).toContain('purged task_a: 50 messages removed');
  });

  it('a broker down past --broker-timeout: exit 1, one line naming the broker', async () => {
    const setup = project(SIMPLE_CONFIG, { confirmDelayMs: undefined, onOpen: (broker) => setup.clock.schedule(5, () => broker.cut()) });
    const result = await run(setup, ['--tasks', '50', '--broker-timeout', '10s', '-q']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the broker at amqp://guest:***@127.0.0.1:5672 has been unreachable for 10s; giving up the run — 100 sent, 0 confirmed, 0 completed so far; start the broker, or raise --broker-timeout\n',
    });
  });

  it('prints the report before a failing --out write, then exits 1', async () => {
    const setup = project();
    const target = path.join(setup.cwd, 'out.json');
    writeFileSync(target, '');
    // Writable when checked, a directory by the time the run ends.
    setup.brokerOptions.onOpen = () => {
      rmSync(target);
      mkdirSync(target);
    };
    const result = await run(setup, ['--tasks', '2', '-q', '--out', 'out.json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('load test run1');
    expect(result.stderr).toBe('error: --out: could not write out.json (EISDIR); the report is above\n');
  });

  it('--scale-steps scales the services between runs, waits for consumers, prints the efficiency, restores', async () => {
    const setup = project();
    const running = (service: string) => setup.engine.names('running').filter((name) => name.startsWith(`demo-${service}-`)).length;
    setup.brokerOptions.consumers = (queue) => running(queue === 'task_a' ? 'worker-a' : 'worker-b');
    // k-th task of a queue finishes after (k / workers + 1) × 10 ms: perfect scaling.
    setup.brokerOptions.respond = (task, queue) => {
      const k = Number(task.id.split('-').at(-1));
      const workers = setup.brokerOptions.consumers!(queue);
      return [{ delayMs: (Math.floor(k / workers) + 1) * 10, outcome: 'completed' }];
    };
    const result = await run(setup, ['--tasks', '8', '--queue', 'task_a', '--scale-steps', '1,2', '--json']);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.schema).toBe('qscale.load-test-steps/v1');
    expect(document.services).toEqual(['worker-a']);
    expect(document.steps.map((step: { workers: number; result: { overall: { completed: number } } }) => [step.workers, step.result.overall.completed])).toEqual([
      [1, 8],
      [2, 8],
    ]);
    expect(document.efficiency[1]).toMatchObject({ workers: 2, linear: 2 });
    expect(document.efficiency[1].speedup).toBeGreaterThan(1.5);
    expect(result.stderr).toContain('scale step 2: waiting for consumers');
    // Found at 0 containers, below worker-a's min_replicas (1): restored to 1.
    expect(result.stderr).toContain('restoring replicas: worker-a=1');
    expect(running('worker-a')).toBe(1);
    expect(running('worker-b')).toBe(0);
  });
});
