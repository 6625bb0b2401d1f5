import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { closedSignalOf, Output, writeTo } from '../../../src/cli/output.js';
import type { CliDependencies } from '../../../src/cli/dependencies.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import { encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import type { ContainerEngine } from '../../../src/core/ports/container-engine.js';
import type { ContainerLogSource } from '../../../src/core/ports/container-logs.js';
import { CapturedStream, FakeBrokerAdmin, testDependencies } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';
import { FakeClock, FakeLogSource, settle } from '../logs/fakes.js';

function epipe(): NodeJS.ErrnoException {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
}

/**
 * A pipe whose reader reads `linesBeforeClose` lines and leaves (`| head -n`): the writes after
 * that fail as a real pipe's do, asynchronously with an 'error' event, or, with `sync`, by throwing.
 */
class ClosingPipe extends EventEmitter {
  text = '';
  isTTY = false;
  writesAfterClose = 0;
  private closed = false;

  constructor(
    private readonly linesBeforeClose: number,
    private readonly sync = false,
  ) {
    super();
    this.closed = linesBeforeClose === 0;
  }

  write(chunk: string): boolean {
    if (this.closed) {
      this.writesAfterClose++;
      if (this.sync) throw epipe();
      queueMicrotask(() => this.emit('error', epipe()));
      return false;
    }
    this.text += chunk;
    if (this.text.split('\n').length - 1 >= this.linesBeforeClose) this.closed = true;
    return true;
  }
}

describe('Output on a closed stream', () => {
  it('drops writes after a synchronous EPIPE, remembers the stream is closed, and throws nothing', () => {
    const pipe = new ClosingPipe(1, true);
    const out = new Output(pipe, new CapturedStream(), { color: false });
    out.line('one');
    expect(out.stdoutClosed).toBe(false);
    expect(() => out.line('two')).not.toThrow();
    expect(out.stdoutClosed).toBe(true);
    out.json({ three: 3 });
    out.raw('four');
    expect(pipe.writesAfterClose).toBe(1);
    expect(pipe.text).toBe('one\n');
  });

  it('hears an asynchronous EPIPE (a pipe reports it as an error event) and aborts the closed signal', async () => {
    const pipe = new ClosingPipe(1);
    const out = new Output(pipe, new CapturedStream(), { color: false });
    out.line('one');
    out.line('two');
    expect(out.stdoutClosed).toBe(false);
    await settle(2);
    expect(out.stdoutClosed).toBe(true);
    expect(closedSignalOf(pipe).aborted).toBe(true);
    out.line('three');
    expect(pipe.writesAfterClose).toBe(1);
  });

  it('rethrows write errors that do not mean a closed reader', () => {
    const broken = { write: () => { throw Object.assign(new Error('boom'), { code: 'EINVAL' }); } };
    expect(() => writeTo(broken, 'x')).toThrow('boom');
  });

  it('shares the closed state between every Output on the same stream', async () => {
    const pipe = new ClosingPipe(0, true);
    const first = new Output(pipe, new CapturedStream(), { color: false });
    const second = new Output(pipe, new CapturedStream(), { color: false });
    first.line('gone');
    expect(second.stdoutClosed).toBe(true);
  });

  it('keeps stderr usable when stdout is closed, and the other way round', () => {
    const stderr = new CapturedStream();
    const pipe = new ClosingPipe(0, true);
    const out = new Output(pipe, stderr, { color: false });
    out.line('lost');
    out.warn('still heard');
    expect(stderr.text).toBe('warning: still heard\n');
    const closedStderr = new ClosingPipe(0, true);
    const stdout = new CapturedStream();
    const quiet = new Output(stdout, closedStderr, { color: false });
    quiet.info('lost');
    quiet.line('printed');
    expect(stdout.text).toBe('printed\n');
  });
});

/** Commands load their code on demand: wait (in real time) until the command has got this far. */
async function until(condition: () => boolean): Promise<void> {
  for (let round = 0; round < 400 && !condition(); round++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('the command never got there');
}

const controllers: AbortController[] = [];
afterEach(() => controllers.splice(0).forEach((controller) => controller.abort()));

function start(args: string[], deps: Partial<CliDependencies>) {
  const stderr = new CapturedStream();
  const controller = new AbortController();
  controllers.push(controller);
  const exit = main(['node', 'qscale', ...args], testDependencies({ cwd: writeProject({ 'docker-compose.yml': SIMPLE_COMPOSE, 'test-config.yml': SIMPLE_CONFIG }), stderr, ...deps }), controller.signal);
  return { exit, stderr, controller };
}

/** The commands piped into `head`: those that only print end with 0 and no stack trace. */
describe('streaming commands when stdout is closed', () => {
  it('help printed into a closed pipe (`qscale --help | head -1`) ends with 0', async () => {
    const stdout = new ClosingPipe(0, true);
    const run = start(['--help'], { stdout });
    expect(await run.exit).toBe(0);
    expect(stdout.writesAfterClose).toBe(1);
    expect(run.stderr.text).toBe('');
  });

  it('logs -f ends with 0 once the reader is gone, and stops reading the containers', async () => {
    const source = new FakeLogSource('demo');
    const a1 = source.addContainer('worker-a', 1);
    const stdout = new ClosingPipe(5);
    const clock = new FakeClock();
    const run = start(['logs', '-f'], { stdout, clock, createEngine: () => source as unknown as ContainerEngine & ContainerLogSource });
    await until(() => source.openStreams(a1).length > 0);
    for (let index = 0; index < 8; index++) source.write(a1, encodeDockerFrame('stdout', `line ${index}\n`));
    expect(await run.exit).toBe(0);
    expect(stdout.text.split('\n').filter(Boolean)).toHaveLength(5);
    expect(source.openStreams(a1)[0].signal.aborted).toBe(true);
    expect(run.stderr.text).not.toMatch(/error|EPIPE|at /);
  });

  it('events ends with 0 at the first event it cannot print', async () => {
    const source = new FakeLogSource('demo');
    const a1 = source.addContainer('worker-a', 1);
    const stdout = new ClosingPipe(1);
    const run = start(['events'], { stdout, clock: new FakeClock(), createEngine: () => source as unknown as ContainerEngine & ContainerLogSource });
    await until(() => source.subscriptions.length > 0);
    source.event('start', a1);
    source.event('die', a1, { exitCode: '0' });
    await settle();
    source.event('destroy', a1);
    expect(await run.exit).toBe(0);
    expect(stdout.text).toMatch(/started/);
    expect(run.stderr.text).toBe('');
  });

  it('status --watch ends with 0 once the reader is gone', async () => {
    const engine = new FakeEngine(() => 1_700_000_000_000, ['demo/worker:1']);
    const stdout = new ClosingPipe(1);
    const clock = new FakeClock();
    const run = start(['status', '--watch', '1s'], { stdout, clock, createEngine: () => engine, openBroker: async () => new FakeBrokerAdmin(new Map()) });
    await until(() => clock.sleepers > 0);
    await clock.advance(1000);
    await until(() => stdout.writesAfterClose > 0);
    expect(await run.exit).toBe(0);
    expect(stdout.text.match(/^project demo\nSERVICE/gm)).toHaveLength(1);
    expect(run.stderr.text).toBe('');
  });

  it('autoscale --dry-run without a metrics endpoint ends with 0 once the reader is gone: nothing would be left to do', async () => {
    const engine = new FakeEngine(() => 1_700_000_000_000, ['demo/worker:1']);
    engine.seed('demo-worker-a-1', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' });
    const stats = new Map([['task_a', { queue: 'task_a', ready: 0, unacked: 0, consumers: 1 }]]);
    const stdout = new ClosingPipe(1, true);
    const clock = new FakeClock();
    const run = start(['autoscale', 'worker-a', '--dry-run', '--interval', '1s'], { stdout, clock, createEngine: () => engine, openBroker: async () => new FakeBrokerAdmin(stats) });
    await until(() => clock.sleepers > 0);
    await clock.advance(1000);
    expect(await run.exit).toBe(0);
    expect(stdout.writesAfterClose).toBeGreaterThan(0);
    expect(engine.names('running')).toEqual(['demo-worker-a-1']);
    expect(run.stderr.text).not.toMatch(/EPIPE|\n\s+at |stdout was closed/);
  });

  it('autoscale keeps deciding and scaling after its stdout is closed, says so once on stderr, and stops only when told', async () => {
    const engine = new FakeEngine(() => 1_700_000_000_000, ['demo/worker:1']);
    engine.seed('demo-worker-a-1', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' });
    const stats = new Map([['task_a', { queue: 'task_a', ready: 0, unacked: 0, consumers: 1 }]]);
    const stdout = new ClosingPipe(1, true);
    const clock = new FakeClock();
    const run = start(['autoscale', 'worker-a', '--interval', '1s'], { stdout, clock, createEngine: () => engine, openBroker: async () => new FakeBrokerAdmin(stats) });
    await until(() => clock.sleepers > 0);
    expect(stdout.text).toMatch(/worker-a hold 1/);
    expect(run.stderr.text).not.toContain('stdout was closed');
    await clock.advance(1000);
    // The backlog grows after the reader left: the autoscaler must still act on it.
    stats.set('task_a', { queue: 'task_a', ready: 30, unacked: 0, consumers: 1 });
    for (let round = 0; round < 20 && engine.names('running').length < 3; round++) await clock.advance(1000);
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3']);
    expect(run.stderr.text.match(/stdout was closed: autoscaling goes on without printing decisions/g)).toHaveLength(1);
    run.controller.abort();
    expect(await run.exit).toBe(130);
    expect(run.stderr.text).not.toMatch(/EPIPE|\n\s+at /);
  });
});
