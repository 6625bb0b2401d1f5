import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliDependencies } from '../../../src/cli/dependencies.js';
import type { ContainerLogSource } from '../../../src/core/ports/container-logs.js';
import type { ContainerEngine } from '../../../src/core/ports/container-engine.js';
import { encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import { CapturedStream, testDependencies } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';
import { FakeClock, FakeLogSource, settle } from './fakes.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');

/** stdout that reports a full buffer until the test drains it, like a slow terminal. */
class SlowStdout extends EventEmitter {
  text = '';
  isTTY = false;
  writableNeedDrain = false;
  write(chunk: string) {
    this.text += chunk;
    this.writableNeedDrain = true;
    return false;
  }
  drain() {
    this.writableNeedDrain = false;
    this.emit('drain');
  }
}

const controllers: AbortController[] = [];
afterEach(() => controllers.splice(0).forEach((controller) => controller.abort()));

function run(args: string[], source: FakeLogSource, stdout: { write(text: string): unknown } = new CapturedStream()) {
  const stderr = new CapturedStream();
  const controller = new AbortController();
  controllers.push(controller);
  const clock = new FakeClock(NOW);
  const deps: CliDependencies = testDependencies({
    env: {},
    cwd: writeProject({ 'docker-compose.yml': SIMPLE_COMPOSE, 'test-config.yml': SIMPLE_CONFIG }),
    stdout,
    stderr,
    clock,
    createEngine: () => source as unknown as ContainerEngine & ContainerLogSource,
    openBroker: async () => {
      throw new Error('logs needs no broker');
    },
  });
  const exit = main(['node', 'qscale', ...args], deps, controller.signal);
  return { exit, stdout, stderr, controller, clock };
}

describe('qscale logs', () => {
  it('prints every replica of the named services, demuxed and prefixed, and exits 0', async () => {
    const source = new FakeLogSource('demo');
    const a1 = source.addContainer('worker-a', 1);
    const a12 = source.addContainer('worker-a', 12, { state: 'exited' });
    source.addContainer('worker-b', 1);
    source.write(a1, encodeDockerFrame('stdout', 'started\n'));
    source.write(a12, encodeDockerFrame('stderr', 'crashed\n'));
    const result = run(['logs', 'worker-a'], source);
    expect(await result.exit).toBe(0);
    expect((result.stdout as CapturedStream).text.split('\n').sort()).toEqual(['', 'worker-a-1  | started', 'worker-a-12 | crashed']);
    expect(source.openStreams(a1)[0].request).toEqual({ follow: false, tail: undefined, sinceSeconds: undefined, timestamps: false });
  });

  it('passes --tail and --since on, and asks for timestamps with --json', async () => {
    const source = new FakeLogSource('demo');
    const a1 = source.addContainer('worker-a', 1);
    const result = run(['logs', '--tail', '5', '--since', '10m', '--json'], source);
    expect(await result.exit).toBe(0);
    expect(source.openStreams(a1)[0].request).toEqual({ follow: false, tail: 5, sinceSeconds: (NOW - 600_000) / 1000, timestamps: true });
  });

  it.each([
    [['logs', '--tail', 'ten'], '--tail: "ten" is not a whole number ≥ 0'],
    [['logs', '--since', '10 minutes'], '--since: "10 minutes" is not a duration (10m, 1h30m), a time (2024-05-01T10:00:00Z) or Unix seconds'],
    [['logs', 'worker-z'], 'unknown service "worker-z"'],
  ])('refuses %j with a usage error', async (args, message) => {
    const result = run(args, new FakeLogSource('demo'));
    expect(await result.exit).toBe(2);
    expect(result.stderr.text).toContain(message);
  });

  it('with --follow, reads no further from a container while stdout is full, and ends with 130 on Ctrl-C', async () => {
    const source = new FakeLogSource('demo');
    const a1 = source.addContainer('worker-a', 1);
    const stdout = new SlowStdout();
    const result = run(['logs', '--follow'], source, stdout);
    await settle();
    for (let index = 0; index < 50; index++) source.write(a1, encodeDockerFrame('stdout', `line ${index}\n`));
    await settle();
    const stream = source.openStreams(a1)[0];
    expect(stream.queue.taken).toBe(1);
    expect(stdout.text).toBe('worker-a-1 | line 0\n');
    for (let round = 0; round < 60 && stream.queue.taken < 50; round++) {
      stdout.drain();
      await settle(2);
    }
    stdout.drain();
    await settle();
    expect(stdout.text.split('\n').filter(Boolean)).toHaveLength(50);
    expect(result.stderr.text).toContain('worker-a-1 attached');
    result.controller.abort();
    expect(await result.exit).toBe(130);
  });
});
