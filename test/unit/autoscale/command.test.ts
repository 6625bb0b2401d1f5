import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutoscaleMetrics, serveMetrics } from '../../../src/core/autoscale/metrics.js';
import { decide, EMPTY_HISTORY } from '../../../src/core/autoscale/decide.js';
import { policyOf } from '../../../src/core/autoscale/policy.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import { main } from '../../../src/cli/main.js';
import { CapturedStream, FakeBrokerAdmin, runCli, testDependencies } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { SIMPLE_COMPOSE, writeProject } from '../../support/fixtures.js';

const NOW = 1_700_000_000_000;
const CONFIG = `project:
  name: demo
workers:
  worker-a:
    queue: task_a
    min_replicas: 1
    max_replicas: 5
    autoscale:
      target_backlog_per_worker: 10
  worker-b:
    queue: task_b
    autoscale:
      enabled: false
`;

function setup() {
  const cwd = writeProject({ 'test-config.yml': CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
  const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
  engine.seed('demo-worker-a-1', { [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.containerNumber]: '1', [LABEL.oneoff]: 'False' });
  const broker = new FakeBrokerAdmin(new Map([['task_a', { queue: 'task_a', ready: 32, unacked: 3, consumers: 1 }]]));
  return { cwd, engine, openBroker: async () => broker };
}

describe('qscale autoscale', () => {
  it('--once --dry-run --json prints one decision per line and changes nothing', async () => {
    const { cwd, engine, openBroker } = setup();
    const result = await runCli(['autoscale', '--once', '--dry-run', '--json'], { cwd, engine, openBroker, now: NOW });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1); // worker-b has autoscale.enabled: false
    expect(JSON.parse(lines[0])).toEqual({
      time: new Date(NOW).toISOString(),
      service: 'worker-a',
      queue: 'task_a',
      dryRun: true,
      current: 1,
      desired: 4,
      recommendation: 4,
      direction: 'up',
      rule: 'target-backlog',
      reason: 'backlog 35 (ready 32 + unacked 3) / target 10 per worker → 4',
      cooldownRemainingMs: { up: 0, down: 0 },
      inputs: { backlog: 35, ready: 32, unacked: 3, consumers: 1, metricsAgeMs: 0 },
    });
    expect(engine.calls).toEqual([]);
  });

  it('--once scales through the engine and logs the decision as text', async () => {
    const { cwd, engine, openBroker } = setup();
    const result = await runCli(['--no-color', 'autoscale', 'worker-a', '--once'], { cwd, engine, openBroker, now: NOW });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      '22:13:20 worker-a 1 → 4      target-backlog: backlog 35 (ready 32 + unacked 3) / target 10 per worker → 4 [consumers 1, age 0.0s, cooldown up 0s down 0s]\n',
    );
    expect(result.stderr).toContain('worker-a (queue task_a): 1..5 replicas, target 10 messages per worker; cooldown up 10s down 30s, stabilisation 60s');
    expect(result.stderr).toContain('worker-a: scaled 1 → 4');
    expect(engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3', 'demo-worker-a-4']);
  });

  it('holds when the broker cannot be reached, and says so', async () => {
    const { cwd, engine } = setup();
    const openBroker = async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5672'));
    const result = await runCli(['--no-color', 'autoscale', '--once'], { cwd, engine, openBroker, now: NOW });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: broker unavailable, holding until it answers: connect ECONNREFUSED 127.0.0.1:5672');
    expect(result.stdout).toContain('worker-a hold 1     stale: hold: no queue statistics from the broker');
    expect(engine.calls).toEqual([]);
  });

  it.each([
    [['autoscale', '--interval', 'soon'], 'error: --interval: "soon" is not a positive duration (examples: 2s, 500ms)\n'],
    [['autoscale', '--metrics-port', '99999'], 'error: --metrics-port: "99999" is not a port (0-65535)\n'],
    [['autoscale', 'nope'], 'error: unknown worker service "nope" (test-config.yml names: worker-a, worker-b)\n'],
  ])('%j exits 2 with one line', async (args, stderr) => {
    const { cwd, engine, openBroker } = setup();
    expect(await runCli([...args, '--once'], { cwd, engine, openBroker, now: NOW })).toEqual({ code: 2, stdout: '', stderr });
  });

  it('refuses to scale when system.scaling.enabled is false, unless --dry-run', async () => {
    const { engine, openBroker } = setup();
    const cwd = writeProject({ 'test-config.yml': `system:\n  scaling:\n    enabled: false\n${CONFIG}`, 'docker-compose.yml': SIMPLE_COMPOSE });
    const refused = await runCli(['autoscale', '--once'], { cwd, engine, openBroker, now: NOW });
    expect(refused).toMatchObject({ code: 2, stderr: 'error: scaling is disabled (test-config.yml: system.scaling.enabled is false); nothing changed\n' });
    expect((await runCli(['autoscale', '--once', '--dry-run'], { cwd, engine, openBroker, now: NOW })).code).toBe(0);
  });
});

describe('qscale up with system.scaling.auto_scale', () => {
  async function up(autoScale: boolean) {
    const { engine, openBroker } = setup();
    const cwd = writeProject({ 'test-config.yml': `system:\n  scaling:\n    auto_scale: ${autoScale}\n${CONFIG}`, 'docker-compose.yml': SIMPLE_COMPOSE });
    const controller = new AbortController();
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    let now = NOW;
    // The autoscaler's first sleep stands for the user's Ctrl-C.
    const clock = { now: () => now, sleep: async (ms: number) => ((now += ms), controller.abort()) };
    const code = await main(['node', 'qscale', '--no-color', 'up'], testDependencies({ cwd, stdout, stderr, clock, createEngine: () => engine, openBroker }), controller.signal);
    return { code, stdout: stdout.text, stderr: stderr.text, engine };
  }

  it('starts the fleet, then autoscales until Ctrl-C', async () => {
    const result = await up(true);
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('worker-a 1 → 4      target-backlog: backlog 35');
    expect(result.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-a-2', 'demo-worker-a-3', 'demo-worker-a-4', 'demo-worker-b-1']);
  });

  it('only starts the fleet when auto_scale is false', async () => {
    const result = await up(false);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.engine.names('running')).toEqual(['demo-worker-a-1', 'demo-worker-b-1']);
  });
});

describe('qscale autoscale simulate', () => {
  it('prints steps and totals and writes them as CSV', async () => {
    const { cwd, engine } = setup();
    writeFileSync(path.join(cwd, 'trace.csv'), '0,10\n4,0\n10,0\n');
    const result = await runCli(['--no-color', 'autoscale', 'simulate', 'worker-a', '--trace', 'trace.csv', '--service-rate', '300/m', '--interval', '2s', '--out', 'sim.csv'], {
      cwd,
      engine,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('service rate 5/s per worker, start-up 2s, interval 2s, 1..5 replicas, latency target 10s');
    // t=2: 10 waiting + 1 in progress (unacked) ask for 2; then 1,2,2,2,2 replicas × 2 s: the 30 s down cooldown keeps 2.
    expect(result.stdout).toContain('worker-seconds 18 · peak replicas 2 · peak backlog 20 · time over latency target 0s · scale-ups 1, scale-downs 0');
    // One event in 10 s; the minimum need is ⌈10/5⌉ = 2 for 4 s and min 1 for 6 s = 14 worker-seconds.
    expect(result.stdout).toContain('scale events 360/h · reversals within 60s 0 · peak replicas 2 vs peak need 2 · worker-seconds 1.29× the minimum need (14)');
    const csv = readFileSync(path.join(cwd, 'sim.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('time_s,arrival_rate,replicas,active,backlog,latency_s,direction,rule');
    expect(csv[2]).toBe('2,10,2,1,10,2.2,up,target-backlog');
    expect(csv[3]).toBe('4,0,2,2,20,2.2,hold,cooldown');
    expect(csv).toHaveLength(6);
  });

  it('takes the service rate from a load-test result and writes JSON', async () => {
    const { cwd, engine } = setup();
    writeFileSync(path.join(cwd, 'trace.csv'), '0,10\n4,0\n10,0\n');
    writeFileSync(path.join(cwd, 'lt.json'), JSON.stringify({ schema: 'qscale.load-test/v1', queues: [{ queue: 'task_a', throughput: 10, workers: { w1: {}, w2: {} } }] }));
    const result = await runCli(['autoscale', 'simulate', '--trace', 'trace.csv', '--from-load-test', 'lt.json', '--out', 'sim.json'], { cwd, engine });
    expect(result.code).toBe(0);
    const written = JSON.parse(readFileSync(path.join(cwd, 'sim.json'), 'utf8'));
    expect(written.settings.serviceRatePerWorker).toBe(5);
    expect(written.totals.arrived).toBe(40);
    // The figures are in the JSON too. Minimum need at 5/s per worker: ⌈10/5⌉ = 2 for 4 s, then 1 for 6 s.
    expect(written.totals).toMatchObject({ reversalsWithin60s: 0, peakNeed: 2, minimumNeedWorkerSeconds: 14 });
    expect(written.totals.scaleEventsPerHour).toBe(((written.totals.scaleUps + written.totals.scaleDowns) * 3600) / 10);
  });

  it.each([
    [['--trace', 'trace.csv'], "error: give the workers' speed: --service-rate 10/s or --from-load-test result.json\n"],
    [['--trace', 'trace.csv', '--service-rate', 'fast'], 'error: --service-rate: "fast" is not a rate above 0 (examples: 10/s, 600/m)\n'],
    [['--trace', 'missing.csv', '--service-rate', '5'], 'error: missing.csv: cannot read (ENOENT)\n'],
    [['--trace', 'trace.csv', '--service-rate', '5', '--out', 'sim.txt'], 'error: --out: "sim.txt" must end in .csv or .json\n'],
    [['--trace', 'trace.csv', '--service-rate', '5', '--dry-run'], 'error: --dry-run is not an option of `qscale autoscale simulate`\n'],
  ])('%j exits 2', async (args, stderr) => {
    const { cwd, engine } = setup();
    writeFileSync(path.join(cwd, 'trace.csv'), '0,10\n4,0\n10,0\n');
    expect(await runCli(['autoscale', 'simulate', ...args], { cwd, engine })).toEqual({ code: 2, stdout: '', stderr });
  });
});

describe('Prometheus endpoint', () => {
  it('serves the metrics on 127.0.0.1 only', async () => {
    const metrics = new AutoscaleMetrics();
    const policy = policyOf({ minReplicas: 1, maxReplicas: 5 });
    const decision = decide({ policy, metrics: { replicas: { count: 1, at: NOW }, queue: { ready: 30, unacked: 0, consumers: 1, at: NOW } }, history: EMPTY_HISTORY, now: NOW });
    metrics.recordDecision('worker-a', 'task_a', decision);
    metrics.recordScale('worker-a', 'up');
    const server = await serveMetrics(metrics, 0);
    try {
      const body = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      expect(body).toContain('qscale_queue_depth{service="worker-a",queue="task_a"} 30');
      expect(body).toContain('qscale_queue_consumers{service="worker-a",queue="task_a"} 1');
      expect(body).toContain('qscale_desired_replicas{service="worker-a"} 3');
      expect(body).toContain('qscale_current_replicas{service="worker-a"} 1');
      // The built-in rate mode, before any service rate is measured: 30 waiting / 10 per worker.
      expect(body).toContain('qscale_autoscale_decisions_total{service="worker-a",rule="rate",direction="up"} 1');
      expect(body).toContain('qscale_scale_events_total{service="worker-a",direction="up"} 1');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
      // Not on another interface: a connection to a non-loopback address of this host is refused.
      const { networkInterfaces } = await import('node:os');
      const external = Object.values(networkInterfaces()).flat().find((address) => address && address.family === 'IPv4' && !address.internal);
      if (external) await expect(fetch(`http://${external.address}:${server.port}/metrics`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});
