import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { followLifecycle, type LifecycleFeedEvent } from '../../../src/core/logs/container-lifecycle.js';
import { EngineOutage } from '../../../src/core/logs/engine-outage.js';
import { followFleetLogs, type LogEvent } from '../../../src/core/logs/follow-fleet-logs.js';
import { renderEngineOutage } from '../../../src/cli/render/log-lines.js';
import type { ContainerEngine } from '../../../src/core/ports/container-engine.js';
import type { ContainerLogSource } from '../../../src/core/ports/container-logs.js';
import { CapturedStream, FakeBrokerAdmin, testDependencies } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';
import { FakeClock, FakeLogSource, settle } from './fakes.js';

const PROJECT = 'demo';
const running: AbortController[] = [];
afterEach(() => running.splice(0).forEach((controller) => controller.abort()));

function describeFeed(event: LifecycleFeedEvent): string {
  if (event.type === 'lifecycle') return `${event.event.kind} ${event.event.container.name}`;
  return renderEngineOutage(event);
}

describe('EngineOutage', () => {
  it('reports an outage once when it starts and once when it ends, with the gap from the first break', () => {
    const outage = new EngineOutage();
    expect(outage.answered(1000)).toBeUndefined();
    expect(outage.failed(5000, new Error('ECONNREFUSED'), 4000)).toEqual({ type: 'engine-lost', at: 4000, reason: 'ECONNREFUSED' });
    expect(outage.failed(6000, new Error('ECONNREFUSED'))).toBeUndefined();
    expect(outage.failed(7000, new Error('ENOENT'))).toBeUndefined();
    expect(outage.ongoing).toBe(true);
    expect(outage.answered(10_500)).toEqual({ type: 'engine-back', at: 10_500, gapMs: 6500 });
    expect(outage.answered(11_000)).toBeUndefined();
  });
});

describe('followLifecycle through an engine restart', () => {
  it('says once that the engine went, once that it is back with the gap and what changed meanwhile, then follows again', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const a2 = source.addContainer('worker-a', 2);
    const clock = new FakeClock(1_700_000_000_000);
    const controller = new AbortController();
    running.push(controller);
    const seen: string[] = [];
    const done = followLifecycle({ source, clock, signal: controller.signal }, { project: PROJECT, services: [] }, (event) => {
      seen.push(describeFeed(event));
    });
    await settle();
    source.event('die', a2, { exitCode: '1' }, clock.now());
    await settle();
    source.goDown();
    await settle();
    // Down for 8 s: the follower asks every second, and says so once.
    for (let second = 0; second < 8; second++) await clock.advance(1000);
    expect(seen).toEqual(['died worker-a-2', 'the Docker engine went away (cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)); waiting for it to come back']);
    // Meanwhile the restart stopped worker-a-1, and worker-a-2 was removed; a new one appeared.
    source.containers.get(a1)!.summary.state = 'exited';
    source.forget(a2);
    const b1 = source.addContainer('worker-b', 1);
    source.comeBack();
    await clock.advance(1000);
    expect(seen.slice(2)).toEqual(['the Docker engine is back after 9.0s; meanwhile: worker-a-1 running → exited, worker-a-2 removed, worker-b-1 new (running)']);
    // Subscribed again, from the listing that reported the gap: nothing is reported twice.
    expect(source.subscriptions.map((subscription) => subscription.sinceSeconds)).toEqual([clock.now() / 1000]);
    source.event('start', b1, {}, clock.now() + 5);
    await settle();
    expect(seen.at(-1)).toBe('started worker-b-1');
    controller.abort();
    await done;
  });

  it('re-subscribes from just after the last event it handled, as logs -f does', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const clock = new FakeClock(1_700_000_000_000);
    const controller = new AbortController();
    running.push(controller);
    const done = followLifecycle({ source, clock, signal: controller.signal }, { project: PROJECT, services: [] }, () => {});
    await settle();
    source.event('die', a1, { exitCode: '0' }, 1_700_000_100_000);
    await settle();
    source.breakEvents();
    await settle();
    await clock.advance(1000);
    // 1 µs after the event, not 1 ms: events in that millisecond are not skipped.
    expect(source.subscriptions.map((subscription) => subscription.sinceSeconds)).toEqual([1_700_000_100.000001]);
    controller.abort();
    await done;
  });

  it('re-subscribes quietly, after a pause, when the engine only closed the stream', async () => {
    const source = new FakeLogSource(PROJECT);
    source.addContainer('worker-a', 1);
    const clock = new FakeClock(1_700_000_000_000);
    const controller = new AbortController();
    running.push(controller);
    const seen: string[] = [];
    const done = followLifecycle({ source, clock, signal: controller.signal }, { project: PROJECT, services: [] }, (event) => {
      seen.push(describeFeed(event));
    });
    await settle();
    source.breakEvents();
    await settle();
    expect(source.subscriptions).toHaveLength(0);
    await clock.advance(1000);
    expect(source.subscriptions).toHaveLength(1);
    expect(seen).toEqual([]);
    controller.abort();
    await done;
  });
});

describe('logs -f through an engine restart', () => {
  it('reports one line when the engine goes and one when it is back, not one per retry', async () => {
    const source = new FakeLogSource(PROJECT);
    source.addContainer('worker-a', 1);
    const clock = new FakeClock();
    const controller = new AbortController();
    running.push(controller);
    const seen: LogEvent[] = [];
    const done = followFleetLogs(
      { source, clock, signal: controller.signal, onEvent: (event) => void seen.push(event) },
      { project: PROJECT, services: [], follow: true, timestamps: false, relistEveryMs: 1000 },
    );
    await settle();
    source.goDown();
    await settle();
    for (let second = 0; second < 6; second++) await clock.advance(1000);
    source.comeBack();
    await clock.advance(1000);
    await clock.advance(1000);
    const outages = seen.filter((event) => event.type === 'engine-lost' || event.type === 'engine-back' || event.type === 'warning');
    expect(outages.map((event) => event.type)).toEqual(['engine-lost', 'engine-back']);
    expect(outages[1]).toMatchObject({ type: 'engine-back', gapMs: 7000 });
    expect(source.subscriptions).toHaveLength(1);
    controller.abort();
    await done;
  });
});

/** A fake engine that can be switched off like a stopped dockerd. */
class StoppableEngine extends FakeEngine {
  down = false;
  override async listContainers(labelFilters: string[]) {
    if (this.down) throw new Error('cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)');
    return super.listContainers(labelFilters);
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let round = 0; round < 400 && !condition(); round++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('the command never got there');
}

describe('qscale status --watch through an engine restart', () => {
  it('keeps running: one warning when the engine goes, one line when it is back, frames in between skipped', async () => {
    const engine = new StoppableEngine(() => 1_700_000_000_000, ['demo/worker:1']);
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const clock = new FakeClock();
    const controller = new AbortController();
    running.push(controller);
    const deps = testDependencies({ cwd: writeProject({ 'docker-compose.yml': SIMPLE_COMPOSE, 'test-config.yml': SIMPLE_CONFIG }), stdout, stderr, clock, createEngine: () => engine, openBroker: async () => new FakeBrokerAdmin(new Map()) });
    const exit = main(['node', 'qscale', 'status', '--watch', '2s'], deps, controller.signal);
    const frames = () => stdout.text.split('project demo').length - 1;
    await until(() => clock.sleepers > 0);
    expect(frames()).toBe(1);
    engine.down = true;
    for (let round = 0; round < 4; round++) await clock.advance(2000);
    engine.down = false;
    await clock.advance(2000);
    expect(frames()).toBe(2);
    expect(stderr.text).toBe(
      'warning: the Docker engine went away (cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)); waiting for it to come back\n' +
        'the Docker engine is back after 8.0s\n',
    );
    controller.abort();
    expect(await exit).toBe(130);
  });

  it('fails as before when the engine does not answer the first time', async () => {
    const engine = new StoppableEngine(() => 1_700_000_000_000, ['demo/worker:1']);
    engine.down = true;
    const stderr = new CapturedStream();
    const deps = testDependencies({ cwd: writeProject({ 'docker-compose.yml': SIMPLE_COMPOSE, 'test-config.yml': SIMPLE_CONFIG }), stderr, clock: new FakeClock(), createEngine: () => engine, openBroker: async () => new FakeBrokerAdmin(new Map()) });
    expect(await main(['node', 'qscale', 'status', '--watch'], deps, new AbortController().signal)).toBe(1);
    expect(stderr.text).toBe('error: cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)\n');
  });
});

describe('qscale events through an engine restart', () => {
  it('keeps running and reports the gap on stderr, the events on stdout', async () => {
    const source = new FakeLogSource(PROJECT);
    const a1 = source.addContainer('worker-a', 1);
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const clock = new FakeClock(1_700_000_000_000);
    const controller = new AbortController();
    running.push(controller);
    const deps = testDependencies({ cwd: writeProject({ 'docker-compose.yml': SIMPLE_COMPOSE, 'test-config.yml': SIMPLE_CONFIG }), stdout, stderr, clock, createEngine: () => source as unknown as ContainerEngine & ContainerLogSource });
    const exit = main(['node', 'qscale', 'events'], deps, controller.signal);
    await until(() => source.subscriptions.length > 0);
    source.goDown();
    await settle();
    await clock.advance(1000);
    await clock.advance(1000);
    source.containers.get(a1)!.summary.state = 'exited';
    source.comeBack();
    await clock.advance(1000);
    await until(() => source.subscriptions.length > 0);
    source.event('start', a1, {}, clock.now());
    await until(() => stdout.text.length > 0);
    expect(stdout.text).toBe(`${new Date(clock.now()).toISOString()}  worker-a-1  started\n`);
    expect(stderr.text).toBe(
      'warning: the Docker engine went away (cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)); waiting for it to come back\n' +
        'the Docker engine is back after 3.0s; meanwhile: worker-a-1 running → exited\n',
    );
    controller.abort();
    expect(await exit).toBe(130);
  });
});
