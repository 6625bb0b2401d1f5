import { describe, expect, it } from 'vitest';
import { runAutoscaler, type AutoscaleEvent } from '../../../src/core/autoscale/run-autoscaler.js';
import type { Clock } from '../../../src/core/clock.js';
import { loadConfig, type QscaleConfig } from '../../../src/core/config/qscale-config.js';
import type { BrokerAdmin, QueueStats } from '../../../src/core/ports/broker.js';
import type { ContainerEngine } from '../../../src/core/ports/container-engine.js';
import { scaleService } from '../../../src/core/scale/scale-service.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { ComposeBackend } from '../../../src/core/backend/compose-backend.js';
import { writeProject } from '../../support/fixtures.js';

const START = 1_700_000_000_000;

const COMPOSE = `services:
  worker:
    image: demo/worker:1
    network_mode: host
    stop_grace_period: 15s
`;

const CONFIG = `project:
  name: demo
workers:
  worker:
    queue: tasks
    min_replicas: 1
    max_replicas: 5
    autoscale:
      target_backlog_per_worker: 10
      scale_up_cooldown: 4s
      scale_down_cooldown: 10s
      stabilization_window: 6s
      stale_after: 5s
`;

/** Time passes only when the loop sleeps. */
class FakeClock implements Clock {
  constructor(public time = START) {}
  now = () => this.time;
  sleep = async (ms: number, signal?: AbortSignal) => {
    if (signal?.aborted) throw new Error('aborted');
    this.time += ms;
  };
}

/**
 * A queue and its consumers: each poll, the tick's arrivals join, the loop sees the backlog, then
 * every running worker completes 10 tasks before the next poll.
 */
class FakeQueue {
  backlog = 0;
  processed = 0;
  arrived = 0;
  polls = 0;
  opens = 0;
  down = new Set<number>();

  constructor(
    private readonly engine: FakeEngine,
    private readonly arrivals: Record<number, number> = {},
  ) {}

  open = async (): Promise<BrokerAdmin> => {
    const poll = this.polls;
    this.opens++;
    if (this.down.has(poll)) {
      this.polls++;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5672');
    }
    return {
      endpoint: 'amqp://guest:***@127.0.0.1:5672',
      queueStats: async (queues) => {
        const tick = this.polls++;
        if (this.down.has(tick)) throw new Error('connection closed');
        const arriving = this.arrivals[tick] ?? 0;
        this.backlog += arriving;
        this.arrived += arriving;
        const running = this.engine.names('running').length;
        const stats: QueueStats = { queue: queues[0], ready: this.backlog, unacked: 0, consumers: running };
        const done = Math.min(this.backlog, 10 * running);
        this.backlog -= done;
        this.processed += done;
        return new Map([[queues[0], stats]]);
      },
      close: async () => {},
    };
  };
}

interface Setup {
  config: QscaleConfig;
  engine: FakeEngine;
  clock: FakeClock;
  queue: FakeQueue;
  events: AutoscaleEvent[];
}

async function setup(arrivals: Record<number, number> = {}, configText = CONFIG): Promise<Setup> {
  const config = loadConfig({ cwd: writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': configText }), env: {} });
  const clock = new FakeClock();
  const engine = new FakeEngine(clock.now, ['demo/worker:1']);
  await scaleService({ engine, clock, onEvent: () => {} }, { worker: config.workers[0], desired: 1 }, { project: config.project, maxWorkersPerQueue: 10 });
  engine.calls.length = 0;
  return { config, engine, clock, queue: new FakeQueue(engine, arrivals), events: [] };
}

/** The Compose backend over the given engine (the fake, or a failing proxy of it). */
function backendOn(s: Setup, engine: ContainerEngine): ComposeBackend {
  return new ComposeBackend(s.config, { engine: engine as FakeEngine, clock: s.clock, onEvent: () => {} });
}

/** Runs the loop for `polls` polls, 2 s apart. */
async function run(s: Setup, polls: number, options: { dryRun?: boolean; engine?: ContainerEngine } = {}) {
  const controller = new AbortController();
  await runAutoscaler(
    {
      backend: backendOn(s, options.engine ?? s.engine),
      openBroker: s.queue.open,
      clock: s.clock,
      signal: controller.signal,
      onEvent: (event) => {
        s.events.push(event);
        if (event.type === 'decision' && s.events.filter((candidate) => candidate.type === 'decision').length === polls) controller.abort();
      },
    },
    { workers: s.config.workers, intervalMs: 2_000, dryRun: options.dryRun },
  );
}

/** Each decision as "t+<s> <direction> <desired> <rule>". */
function timeline(s: Setup): string[] {
  return s.events.flatMap((event) =>
    event.type === 'decision' ? [`t+${(event.at - START) / 1000} ${event.decision.direction} ${event.decision.desired} ${event.decision.rule}`] : [],
  );
}

describe('runAutoscaler', () => {
  it('scales a burst up, lets it drain, and scales down after the cooldown through the graceful path', async () => {
    const s = await setup({ 1: 100 });
    await run(s, 8);
    expect(timeline(s)).toEqual([
      't+0 hold 1 min-replicas',
      't+2 up 5 max-replicas', // ceil(100 / 10) = 10, capped at 5
      't+4 hold 5 max-replicas', // 90 left
      't+6 hold 5 stabilization', // 40 left asks for 4; 5 was recommended within 6 s
      't+8 hold 5 stabilization', // 0 left; 5 still within the window (t+4)
      't+10 hold 5 cooldown', // the window allows 4, the down cooldown (10 s from t+2) has 2 s left
      't+12 down 1 min-replicas',
      't+14 hold 1 min-replicas',
    ]);
    const cooldown = s.events.find((event) => event.type === 'decision' && event.decision.rule === 'cooldown');
    expect(cooldown?.type === 'decision' && cooldown.decision.cooldownRemainingMs).toEqual({ up: 0, down: 2_000 });
    expect(s.engine.names('running')).toEqual(['demo-worker-1']);
    // Removed workers were stopped with their stop_grace_period (they drain on SIGTERM), then removed.
    expect(s.engine.calls.filter((call) => call.startsWith('stop'))).toEqual(['demo-worker-2 15s', 'demo-worker-3 15s', 'demo-worker-4 15s', 'demo-worker-5 15s'].map((rest) => `stop ${rest}`));
    expect(s.engine.calls.filter((call) => call.startsWith('create'))).toHaveLength(4);
    expect({ arrived: s.queue.arrived, processed: s.queue.processed, left: s.queue.backlog }).toEqual({ arrived: 100, processed: 100, left: 0 });
    expect(s.events.filter((event) => event.type === 'scaled').map((event) => event.type === 'scaled' && `${event.from}→${event.to}`)).toEqual(['1→5', '5→1']);
  });

  it('holds while the broker is down, keeps polling with fresh connections, and scales once it answers', async () => {
    const s = await setup({ 5: 30 });
    for (const tick of [1, 2, 3, 4]) s.queue.down.add(tick);
    await run(s, 7);
    expect(timeline(s)).toEqual([
      't+0 hold 1 min-replicas',
      't+2 hold 1 min-replicas', // the t+0 sample is 2 s old: still fresh (stale after 5 s)
      't+4 hold 1 min-replicas',
      't+6 hold 1 stale',
      't+8 hold 1 stale',
      't+10 up 3 target-backlog',
      't+12 hold 3 stabilization', // 20 left asks for 2; 3 was recommended at t+10
    ]);
    expect(s.events.filter((event) => event.type === 'outage' || event.type === 'recovered').map((event) => `${event.type} ${'source' in event ? event.source : ''} t+${(event.at - START) / 1000}`)).toEqual([
      'outage broker t+2',
      'recovered broker t+10',
    ]);
    // The admin that failed at t+2 was dropped; every later poll opened a new one.
    expect(s.queue.opens).toBe(5);
  });

  it('holds while Docker is down, even with a backlog, and recovers', async () => {
    const s = await setup({ 0: 40 });
    let dockerDown = true;
    const flaky = new Proxy(s.engine, {
      get(target, key, receiver) {
        if (key === 'listContainers' && dockerDown) return async () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'));
        return Reflect.get(target, key, receiver);
      },
    });
    s.events.length = 0;
    const controller = new AbortController();
    await runAutoscaler(
      {
        backend: backendOn(s, flaky),
        openBroker: s.queue.open,
        clock: s.clock,
        signal: controller.signal,
        onEvent: (event) => {
          s.events.push(event);
          if (event.type === 'decision' && event.at - START === 2_000) dockerDown = false;
          if (event.type === 'decision' && event.at - START === 6_000) controller.abort();
        },
      },
      { workers: s.config.workers, intervalMs: 2_000 },
    );
    // 40 → 30 → 20 while Docker is down: no decision on it. Then 20 asks for 2; at t+6, 10 asks for 1 but 2 is within the window.
    expect(timeline(s)).toEqual(['t+0 hold null stale', 't+2 hold null stale', 't+4 up 2 target-backlog', 't+6 hold 2 stabilization']);
    expect(s.events.filter((event) => event.type === 'outage').map((event) => event.type === 'outage' && `${event.source}: ${event.error}`)).toEqual(['docker: connect ENOENT /var/run/docker.sock']);
    expect(s.engine.names('running')).toEqual(['demo-worker-1', 'demo-worker-2']);
  });

  it('--dry-run decides and reports but never changes a container', async () => {
    const s = await setup({ 1: 100 });
    await run(s, 4, { dryRun: true });
    expect(timeline(s)).toEqual(['t+0 hold 1 min-replicas', 't+2 up 5 max-replicas', 't+4 up 5 max-replicas', 't+6 up 5 max-replicas']);
    expect(s.events.every((event) => event.type !== 'decision' || event.dryRun)).toBe(true);
    expect(s.engine.calls).toEqual([]);
    expect(s.engine.names('running')).toEqual(['demo-worker-1']);
  });

  it('reports a failed scale and keeps polling', async () => {
    const s = await setup({ 0: 30 });
    s.engine.failStartOf = (name) => (name === 'demo-worker-2' && s.clock.now() === START ? new Error('port is already allocated') : undefined);
    await run(s, 2);
    // The container whose start failed is removed again by the scale path, so t+2 sees the 2 live
    // ones; the 20 tasks left ask for 2.
    expect(timeline(s)).toEqual(['t+0 up 3 target-backlog', 't+2 hold 2 target-backlog']);
    expect(s.events.find((event) => event.type === 'scale-failed')).toMatchObject({ service: 'worker', error: expect.stringContaining('port is already allocated') });
    expect(s.events.some((event) => event.type === 'scaled')).toBe(false);
    expect(s.engine.names('running')).toEqual(['demo-worker-1', 'demo-worker-3']);
  });
});

describe('runAutoscaler in rate mode (the default)', () => {
  const RATE_CONFIG = `project:
  name: demo
broker:
  management_url: http://127.0.0.1:15672
workers:
  worker:
    queue: tasks
    min_replicas: 1
    max_replicas: 5
`;

  /**
   * A queue fed 15 tasks/s; each running worker completes 5/s. Each poll reports the 2 s since the
   * last, as the broker would: what waits (ready), the workers busy on a task (unacked: acks ÷ 5/s
   * of them), and the publish and ack rates.
   */
  function rateBroker(engine: FakeEngine) {
    const state = { backlog: 0, arrived: 0, processed: 0 };
    const open = async (): Promise<BrokerAdmin> => ({
      endpoint: 'amqp://guest:***@127.0.0.1:5672',
      queueStats: async (queues) => {
        const running = engine.names('running').length;
        const done = Math.min(state.backlog + 30, 10 * running);
        state.backlog += 30 - done;
        state.arrived += 30;
        state.processed += done;
        const stats: QueueStats = { queue: queues[0], ready: state.backlog, unacked: Math.min(running, done / 10), consumers: running, publishRate: 15, ackRate: done / 2 };
        return new Map([[queues[0], stats]]);
      },
      close: async () => {},
    });
    return { state, open };
  }

  it('learns the service rate from the acks, drains the backlog and settles at arrivals ÷ service rate', async () => {
    const config = loadConfig({ cwd: writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': RATE_CONFIG }), env: {} });
    const clock = new FakeClock();
    const engine = new FakeEngine(clock.now, ['demo/worker:1']);
    await scaleService({ engine, clock, onEvent: () => {} }, { worker: config.workers[0], desired: 1 }, { project: config.project, maxWorkersPerQueue: 10 });
    const broker = rateBroker(engine);
    const events: AutoscaleEvent[] = [];
    const controller = new AbortController();
    await runAutoscaler(
      {
        backend: new ComposeBackend(config, { engine, clock, onEvent: () => {} }),
        openBroker: broker.open,
        clock,
        signal: controller.signal,
        onEvent: (event) => {
          events.push(event);
          if (event.type === 'decision' && event.at - START >= 300_000) controller.abort();
        },
      },
      { workers: config.workers, intervalMs: 2_000 },
    );
    const decisions = events.flatMap((event) => (event.type === 'decision' ? [event.decision] : []));
    const scaled = events.flatMap((event) => (event.type === 'scaled' ? [`${event.from}→${event.to}`] : []));
    // First poll: 20 wait, the one worker acked 5/s: a worker does at least 5/s, so 15/s needs at
    // most 3, and the 20 waiting drain in 30 s with 0.13 more → 4.
    expect(decisions[0]).toMatchObject({ direction: 'up', desired: 4, rule: 'rate', reason: 'arrivals 15/s (steady) / at least 5/s per worker + 20 waiting drained in 30s → need 3.13 → 4' });
    // With the queue empty, acks ÷ busy workers tell 5/s: 15/s ÷ 5/s = 3, and the 4th goes once
    // neither the reversal window nor the stabilisation window holds it.
    expect(scaled).toEqual(['1→4', '4→3']);
    const last = decisions.at(-1)!;
    expect(last).toMatchObject({ current: 3, direction: 'hold', inputs: { serviceRate: 5, arrivalRate: 15 } });
    expect(broker.state.backlog).toBe(0);
    expect(broker.state.processed).toBe(broker.state.arrived);
  });
});

describe('runAutoscaler: memory and custom-metric triggers', () => {
  const withTriggers = `${CONFIG}      memory_target_percent: 50
      custom_metric:
        url: http://127.0.0.1:9100/metrics
        target: 20
        path: jobs_waiting
`;

  /** The loop over an engine whose containers use `memory()` percent of their limit, and a fetcher answering `jobs()` (or failing). */
  async function runWith(s: Setup, polls: number, memory: () => number, jobs: () => number | Error) {
    const engine = new Proxy(s.engine, {
      get(target, key, receiver) {
        if (key === 'containerStats') return async (id: string) => ({ ...(await target.containerStats(id))!, memoryPercent: memory() });
        return Reflect.get(target, key, receiver);
      },
    });
    const fetched: string[] = [];
    const controller = new AbortController();
    await runAutoscaler(
      {
        backend: backendOn(s, engine),
        openBroker: s.queue.open,
        clock: s.clock,
        signal: controller.signal,
        fetchMetric: async (url) => {
          fetched.push(url);
          const value = jobs();
          if (value instanceof Error) throw value;
          return { status: 200, contentType: 'text/plain; version=0.0.4', body: `# TYPE jobs_waiting gauge\njobs_waiting{q="a"} ${value}\n` };
        },
        onEvent: (event) => {
          s.events.push(event);
          if (event.type === 'decision' && s.events.filter((candidate) => candidate.type === 'decision').length === polls) controller.abort();
        },
      },
      { workers: s.config.workers, intervalMs: 2_000 },
    );
    return fetched;
  }

  it('memory above its target scales up, then the custom metric, each when it asks for the most', async () => {
    const s = await setup({}, withTriggers);
    let memory = 100;
    let jobs = 10;
    const fetched = await runWith(s, 1, () => memory, () => jobs);
    // 1 replica at 100 % of its memory, target 50 %: 2. The custom metric asks for ceil(10 / 20) = 1.
    expect(timeline(s)).toEqual(['t+0 up 2 memory']);
    expect(fetched).toEqual(['http://127.0.0.1:9100/metrics']);
    s.events.length = 0;
    memory = 40;
    jobs = 75;
    await runWith(s, 1, () => memory, () => jobs);
    // A fresh loop (no cooldown): 75 / 20 per worker = 3.75 → 4 beats memory (2 × 40 / 50 → 2).
    expect(timeline(s)).toEqual(['t+0 up 4 custom-metric']);
    expect(s.engine.names('running')).toHaveLength(4);
  });

  it('a custom metric that cannot be read is an outage: decisions hold once the last value is stale, and it recovers', async () => {
    const s = await setup({}, withTriggers);
    let answer: number | Error = 10;
    const readings = [10, new Error('connect ECONNREFUSED 127.0.0.1:9100'), new Error('connect ECONNREFUSED 127.0.0.1:9100'), new Error('connect ECONNREFUSED 127.0.0.1:9100'), new Error('connect ECONNREFUSED 127.0.0.1:9100'), 10];
    let poll = 0;
    await runWith(s, readings.length, () => 20, () => ((answer = readings[Math.min(poll++, readings.length - 1)]), answer));
    const rules = s.events.flatMap((event) => (event.type === 'decision' ? [event.decision.rule] : []));
    // stale_after 5 s: the value read at t+0 serves t+2 and t+4, then holds until it answers again.
    expect(rules.slice(3, 5)).toEqual(['stale', 'stale']);
    expect(rules[5]).not.toBe('stale');
    const outages = s.events.filter((event) => event.type === 'outage' || event.type === 'recovered');
    expect(outages.map((event) => `${event.type} ${event.type === 'outage' || event.type === 'recovered' ? event.source : ''}`)).toEqual(['outage custom-metric', 'recovered custom-metric']);
  });
});
