import { afterEach, describe, expect, it } from 'vitest';
import { encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import { followFleetLogs, type FollowLogsOptions, type LogEvent } from '../../../src/core/logs/follow-fleet-logs.js';
import { FakeClock, FakeLogSource, settle } from './fakes.js';

const PROJECT = 'demo';

/** One event as a short line of text, so whole runs compare as lists. */
function describeEvent(event: LogEvent): string {
  switch (event.type) {
    case 'line':
      return `${event.container.name} ${event.stream}: ${event.text}${event.time ? ` @${event.time}` : ''}`;
    case 'attached':
    case 'detached':
      return `${event.type} ${event.container.name}`;
    case 'lifecycle':
      return `${event.event.kind} ${event.event.container.name}${event.event.exitCode === undefined ? '' : ` (${event.event.exitCode})`}`;
    case 'warning':
      return `warning: ${event.message}`;
    case 'engine-lost':
      return `engine lost: ${event.reason}`;
    case 'engine-back':
      return `engine back after ${event.gapMs}ms`;
  }
}

function start(source: FakeLogSource, options: Partial<FollowLogsOptions> = {}, onEvent?: (event: LogEvent) => void | Promise<void>) {
  const clock = new FakeClock();
  const controller = new AbortController();
  const seen: string[] = [];
  let finished = false;
  const done = followFleetLogs(
    {
      source,
      clock,
      signal: controller.signal,
      onEvent: (event) => {
        seen.push(describeEvent(event));
        return onEvent?.(event);
      },
    },
    { project: PROJECT, services: [], follow: true, timestamps: false, relistEveryMs: 1000, ...options },
  ).finally(() => (finished = true));
  running.push(controller);
  return { clock, controller, seen, done, isFinished: () => finished };
}

const running: AbortController[] = [];
afterEach(() => {
  for (const controller of running.splice(0)) controller.abort();
});

describe('followFleetLogs with follow', () => {
  it("attaches to the project's containers and prefixes each line with its replica", async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const b1 = source.addContainer('worker-b', 1);
    source.addContainer('worker-a', 1, { project: 'other-project' });
    source.write(a1, encodeDockerFrame('stdout', 'a says hi\n'));
    source.write(b1, encodeDockerFrame('stderr', 'b complains\n'));
    const run = start(source);
    await settle();
    expect(run.seen).toEqual(['attached worker-a-1', 'attached worker-b-1', 'worker-a-1 stdout: a says hi', 'worker-b-1 stderr: b complains']);
  });

  it('attaches a container that starts later, from the start event, with all its output', async () => {
    const source = new FakeLogSource(PROJECT);
    source.addContainer('worker-a', 1);
    const run = start(source, { tail: 5 });
    await settle();
    const a2 = source.addContainer('worker-a', 2);
    source.write(a2, encodeDockerFrame('stdout', 'first words of a new replica\n'));
    source.event('start', a2);
    await settle();
    expect(run.seen).toEqual(['attached worker-a-1', 'attached worker-a-2', 'worker-a-2 stdout: first words of a new replica']);
    expect(source.openStreams(a2)[0].request).toEqual({ follow: true, sinceSeconds: undefined, timestamps: false });
    source.write(a2, encodeDockerFrame('stdout', 'and more\n'));
    await settle();
    expect(run.seen.at(-1)).toBe('worker-a-2 stdout: and more');
  });

  it('subscribes to events from before its first listing, so a container started in between is not missed', async () => {
    const source = new FakeLogSource(PROJECT);
    const run = start(source);
    await settle();
    expect(source.subscriptions.map((subscription) => subscription.sinceSeconds)).toEqual([run.clock.now() / 1000]);
    expect(source.subscriptions[0].filters).toEqual(['com.docker.compose.project=demo', 'com.docker.compose.oneoff=False']);
  });

  it('finds a running container no event announced at the next re-list', async () => {
    const source = new FakeLogSource(PROJECT);
    const run = start(source);
    await settle();
    const a1 = source.addContainer('worker-a', 1);
    source.write(a1, encodeDockerFrame('stdout', 'missed by the events\n'));
    await settle();
    expect(run.seen).toEqual([]);
    await run.clock.advance(999);
    expect(run.seen).toEqual([]);
    await run.clock.advance(1);
    expect(run.seen).toEqual(['attached worker-a-1', 'worker-a-1 stdout: missed by the events']);
  });

  it('announces a death with its exit code and detaches when the stream ends', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    source.write(a1, encodeDockerFrame('stdout', 'last words without newline'));
    source.event('die', a1, { exitCode: '137' });
    source.stop(a1);
    await settle();
    expect(run.seen).toEqual(['attached worker-a-1', 'worker-a-1 stdout: last words without newline', 'died worker-a-1 (137)', 'detached worker-a-1']);
    await run.clock.advance(1000);
    expect(run.seen.filter((line) => line.startsWith('attached'))).toHaveLength(1);
  });

  it('lets go of a removed container whose stream never ends', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    source.event('destroy', a1);
    await settle();
    expect(source.openStreams(a1)[0].signal.aborted).toBe(true);
    // The removal is told after the stream is let go, as it happened.
    expect(run.seen).toEqual(['attached worker-a-1', 'detached worker-a-1', 'removed worker-a-1']);
  });

  it('tells a death and a removal that arrive while the stream still drains in the order they happened', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    source.event('die', a1, { exitCode: '0' });
    source.event('destroy', a1);
    await settle();
    expect(run.seen).toEqual(['attached worker-a-1', 'died worker-a-1 (0)', 'detached worker-a-1', 'removed worker-a-1']);
  });

  it('lets go of a container that disappeared from the list without an event', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    const stream = source.openStreams(a1)[0];
    source.forget(a1);
    await run.clock.advance(1000);
    expect(stream.signal.aborted).toBe(true);
    expect(run.seen).toEqual(['attached worker-a-1', 'detached worker-a-1']);
  });

  it('re-attaches a restarted container from where its last stream ended, not from the top', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    source.stop(a1);
    await settle();
    await run.clock.advance(500);
    source.containers.get(a1)!.summary.state = 'running';
    source.event('start', a1);
    await settle();
    const streams = source.openStreams(a1);
    expect(streams).toHaveLength(2);
    expect(streams[1].request.sinceSeconds).toBe((run.clock.now() - 500) / 1000);
  });

  it('follows only the named services', async () => {
    const source = new FakeLogSource(PROJECT);
    source.addContainer('worker-a', 1);
    source.addContainer('worker-b', 1);
    const run = start(source, { services: ['worker-b'] });
    await settle();
    const a2 = source.addContainer('worker-a', 2);
    source.event('start', a2);
    source.event('die', a2, { exitCode: '1' });
    await run.clock.advance(1000);
    expect(run.seen).toEqual(['attached worker-b-1']);
  });

  it('ends when aborted, closing every stream and the event subscription', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    expect(run.isFinished()).toBe(false);
    run.controller.abort();
    await run.done;
    expect(source.openStreams(a1)[0].signal.aborted).toBe(true);
    expect(source.subscriptions).toHaveLength(0);
    expect(run.clock.sleepers).toBe(0);
    expect(run.seen).toEqual(['attached worker-a-1']);
  });

  it('re-subscribes after the event stream breaks, from just after the last event it handled', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const run = start(source);
    await settle();
    source.event('die', a1, { exitCode: '0' }, 1_700_000_100_000);
    await settle();
    source.breakEvents();
    await settle();
    expect(source.subscriptions).toHaveLength(0);
    await run.clock.advance(1000);
    expect(source.subscriptions.map((subscription) => subscription.sinceSeconds)).toEqual([1_700_000_100.000001]);
  });

  it('stops reading a container while the sink is still writing (backpressure)', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const run = start(source, {}, (event) => (event.type === 'line' ? blocked : undefined));
    await settle();
    for (let index = 0; index < 100; index++) source.write(a1, encodeDockerFrame('stdout', `line ${index}\n`));
    await settle();
    const stream = source.openStreams(a1)[0];
    expect(stream.queue.taken).toBe(1);
    release();
    await settle(200);
    expect(stream.queue.taken).toBe(100);
    expect(run.seen.filter((line) => line.includes('stdout'))).toEqual(Array.from({ length: 100 }, (_, index) => `worker-a-1 stdout: line ${index}`));
  });

  it('parses the engine timestamp off each line when timestamps are asked for', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    source.write(a1, encodeDockerFrame('stdout', '2024-05-01T10:00:00.123456789Z ready\n'));
    const run = start(source, { timestamps: true });
    await settle();
    expect(run.seen).toContain('worker-a-1 stdout: ready @2024-05-01T10:00:00.123456789Z');
  });
});

describe('followFleetLogs without follow', () => {
  it("prints what each container has, the last N lines, and ends", async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const a2 = source.addContainer('worker-a', 2, { state: 'exited', tty: true });
    for (const text of ['1\n', '2\n', '3\n']) source.write(a1, encodeDockerFrame('stdout', text));
    source.write(a2, new TextEncoder().encode('tty out\r\n'));
    const clock = new FakeClock();
    const seen: string[] = [];
    await followFleetLogs(
      { source, clock, signal: new AbortController().signal, onEvent: (event) => void seen.push(describeEvent(event)) },
      { project: PROJECT, services: [], follow: false, tail: 2, timestamps: false },
    );
    // Containers are read side by side; within one, order is kept.
    expect(seen.filter((line) => line.startsWith('worker-a-1'))).toEqual(['worker-a-1 stdout: 2', 'worker-a-1 stdout: 3']);
    expect(seen.filter((line) => line.startsWith('worker-a-2'))).toEqual(['worker-a-2 stdout: tty out']);
    expect(seen.filter((line) => line.startsWith('detached'))).toHaveLength(2);
    expect(source.openStreams(a1)[0].request).toEqual({ follow: false, tail: 2, sinceSeconds: undefined, timestamps: false });
    expect(source.subscriptions).toHaveLength(0);
  });
});
