import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTaskBroker } from '../../src/adapters/rabbitmq/task-broker.js';
import { realDependencies, type CliDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { systemClock } from '../../src/core/clock.js';
import type { LoadTestResult } from '../../src/core/load-test/report.js';
import { runLoadTest, type LoadTestEvent, type LoadTestPlan } from '../../src/core/load-test/run-load-test.js';
import type { OnConfirm, TaskBroker } from '../../src/core/ports/task-broker.js';
import { deadLetterQueueOf, quarantineQueueOf, type TaskResult } from '../../templates/worker/src/protocol.js';
import { CapturedStream } from '../support/cli-harness.js';
import {
  brokerQueueCounts,
  CHAOS_BROKER_URL,
  CHAOS_MANAGEMENT_URL,
  DEFAULT_MEMORY_WATERMARK,
  deleteQueues,
  killBroker,
  recordFault,
  setMemoryWatermark,
  startApp,
  startBroker,
  stopApp,
} from './support/chaos-broker.js';

/**
 * The load tester under broker faults (broker-faults issue, rows 1, 2, 4 and 6): worker containers
 * and the tester on the chaos broker (127.0.0.1:5673), which is stopped, killed and alarmed. Every
 * figure the tester reports is checked against a raw count of the result messages it received and
 * against the broker's own queue counts at the end.
 */
const execFileAsync = promisify(execFile);
const IMAGE = process.env.QSCALE_WORKER_IMAGE ?? 'qscale/worker:local';
const RUN = `chaos-lt-${randomBytes(3).toString('hex')}`;
const QUEUE = `${RUN}.tasks`;
const WORKERS = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  for (;;) {
    try {
      if (await check()) return (Date.now() - startedAt) / 1000;
    } catch {
      // the broker is still coming back
    }
    if (Date.now() - startedAt > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

const consumersBack = () => waitFor(`${WORKERS} consumers on ${QUEUE}`, async () => (await brokerQueueCounts(QUEUE))?.consumers === WORKERS, 60_000);

/** The real adapter, recording every raw result body and every confirm callback. */
function instrumented(broker: TaskBroker) {
  const raw: unknown[] = [];
  const confirms = { published: 0, settled: 0 };
  const wrapped = new Proxy(broker, {
    get(target, property, receiver) {
      if (property === 'consumeResults') {
        return (queue: string, onResult: (delivery: { body: unknown }) => void) =>
          target.consumeResults(queue, (delivery) => {
            raw.push(delivery.body);
            onResult(delivery);
          });
      }
      if (property === 'publishTask') {
        return (queue: string, task: Parameters<TaskBroker['publishTask']>[1], replyTo: string, onConfirm: OnConfirm) => {
          confirms.published++;
          return target.publishTask(queue, task, replyTo, (failure) => {
            confirms.settled++;
            onConfirm(failure);
          });
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { broker: wrapped, raw, confirms };
}

/** Completions beyond the first per task, counted from the raw result messages. */
function rawDuplicates(raw: unknown[]): number {
  const completions = new Map<string, number>();
  for (const body of raw as TaskResult[]) if (body?.outcome === 'completed') completions.set(body.taskId, (completions.get(body.taskId) ?? 0) + 1);
  return [...completions.values()].reduce((sum, count) => sum + count - 1, 0);
}

function plan(overrides: Partial<LoadTestPlan>): LoadTestPlan {
  const runId = `${RUN}-${randomBytes(2).toString('hex')}`;
  return {
    runId,
    queues: [QUEUE],
    tasksPerQueue: 5000,
    payloadSize: 0,
    workMs: 5,
    failRate: 0,
    crashRate: 0,
    timeoutMs: 120_000,
    settleMs: 2000,
    brokerTimeoutMs: 60_000,
    purge: false,
    requireConsumers: false,
    maxUnconfirmed: 1000,
    resultsQueue: `qscale.results.${runId}`,
    thresholds: [{ metric: 'lost', flag: '--max-lost 0', comparison: '<=', limit: 0 }],
    ...overrides,
  };
}

/** Runs a load test through the real adapter; `fault` runs beside it once `when` holds. */
async function loadTestUnder(shape: Partial<LoadTestPlan>, when: (completed: number, sent: number) => boolean, fault: () => Promise<void>) {
  const tester = instrumented(await openTaskBroker(CHAOS_BROKER_URL, CHAOS_MANAGEMENT_URL));
  let faultRun: Promise<void> | undefined;
  const events: LoadTestEvent[] = [];
  try {
    const result = await runLoadTest(
      {
        broker: tester.broker,
        clock: systemClock,
        progressIntervalMs: 100,
        onEvent: (event) => {
          events.push(event);
          if (event.type === 'progress' && !faultRun && when(event.progress.completed, event.progress.sent)) faultRun = fault();
        },
      },
      plan(shape),
    );
    await faultRun;
    return { result, ...tester, events, endedAt: Date.now() };
  } finally {
    await tester.broker.close();
  }
}

/** What the broker holds of the run at the end: nothing ready, nothing unacked, in the task queue and its quarantine. */
async function expectBrokerEmpty(): Promise<void> {
  // Redeliveries after a fault may still be on their way to being worked: give them a moment.
  await waitFor('the task queues to empty', async () => {
    const counts = await Promise.all([QUEUE, quarantineQueueOf(QUEUE)].map((queue) => brokerQueueCounts(queue)));
    return counts.every((count) => !count || (count.ready === 0 && count.unacked === 0));
  }, 15_000).catch(() => {});
  for (const queue of [QUEUE, quarantineQueueOf(QUEUE)]) {
    const counts = await brokerQueueCounts(queue);
    expect({ queue, ready: counts?.ready ?? 0, unacked: counts?.unacked ?? 0 }).toEqual({ queue, ready: 0, unacked: 0 });
  }
}

function expectHonestLedger(result: LoadTestResult, raw: unknown[]): void {
  const { overall } = result;
  // On failure, say what the tester saw: the figures and the broker's story.
  const seen = JSON.stringify({ outcome: result.outcome, sent: overall.sent, confirmed: overall.confirmed, completed: overall.completed, failed: overall.failed, pending: overall.pending, lost: overall.lost, broker: result.broker });
  expect(overall.lost, seen).toBe(0);
  expect(overall.pending, seen).toBe(0);
  // Every task is accounted for: the workers did every one, whether its publish was confirmed or not.
  expect(overall.completed + overall.failed, seen).toBe(overall.sent);
  expect(overall.duplicates).toBe(rawDuplicates(raw));
}

beforeAll(async () => {
  await startBroker();
  await setMemoryWatermark(DEFAULT_MEMORY_WATERMARK);
  for (let index = 1; index <= WORKERS; index++) {
    const env = { BROKER_URL: CHAOS_BROKER_URL, QUEUE, PREFETCH: '10', TASK_MS: '5', LOG_LEVEL: 'warn' };
    await docker('run', '-d', '--name', `${RUN}-worker-${index}`, '--label', `qscale-chaos=${RUN}`, '--network', 'host', '--init', ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]), IMAGE);
  }
  await consumersBack();
});

afterAll(async () => {
  // Whatever a failed case left: the broker running, no alarm, no containers, no queues of ours.
  await startBroker().catch(() => {});
  await startApp().catch(() => {});
  await setMemoryWatermark(DEFAULT_MEMORY_WATERMARK).catch(() => {});
  const ids = (await docker('ps', '-aq', '--filter', `label=qscale-chaos=${RUN}`)).split('\n').filter(Boolean);
  if (ids.length > 0) await docker('rm', '-f', ...ids);
  await deleteQueues(QUEUE, quarantineQueueOf(QUEUE), deadLetterQueueOf(QUEUE));
});

describe('the load tester under broker faults', () => {
  it('stop_app/start_app 3 times during 5,000 tasks: 0 lost, unconfirmed apart, duplicates as counted raw, done ≤ 30 s after the last return', async () => {
    const recoveries: number[] = [];
    let lastReturn = 0;
    const restarts = async () => {
      for (let round = 0; round < 3; round++) {
        await stopApp();
        await sleep(2000);
        await startApp();
        lastReturn = Date.now();
        recoveries.push(await consumersBack());
        await sleep(2000);
      }
    };
    // Paced, so the faults land while tasks are still being published.
    const run = await loadTestUnder({ ratePerSecond: 400 }, (_completed, sent) => sent >= 500, restarts);
    expectHonestLedger(run.result, run.raw);
    // Each stop cuts the tester off; two stops may fall into one outage if it had not yet reconnected.
    expect(run.result.broker.outages).toBeGreaterThanOrEqual(1);
    expect(run.confirms.settled).toBe(run.confirms.published);
    expect((run.endedAt - lastReturn) / 1000).toBeLessThanOrEqual(30);
    await expectBrokerEmpty();
    const { overall } = run.result;
    recordFault({
      fault: 'stop_app/start_app ×3 (load tester)',
      sent: overall.sent,
      lost: overall.lost,
      unconfirmed: overall.unconfirmed,
      recovered: overall.recovered,
      duplicates: overall.duplicates,
      recoverySeconds: Math.max(...recoveries),
      note: `${run.result.broker.outages} outages, down ${(run.result.broker.downMs / 1000).toFixed(1)} s; republished ${run.result.broker.republished}; ended ${((run.endedAt - lastReturn) / 1000).toFixed(1)} s after the last start`,
    });
  });

  it('broker SIGKILLed, then started, during 5,000 tasks: 0 lost among confirmed tasks, in-flight ones recovered or unconfirmed', async () => {
    let recovery = 0;
    let restartedAt = 0;
    const killAndStart = async () => {
      await killBroker();
      await sleep(1000);
      await startBroker();
      restartedAt = Date.now();
      recovery = await consumersBack();
    };
    const run = await loadTestUnder({ ratePerSecond: 600 }, (_completed, sent) => sent >= 1500, killAndStart);
    expectHonestLedger(run.result, run.raw);
    expect(run.result.broker.outages).toBeGreaterThanOrEqual(1);
    expect(run.confirms.settled).toBe(run.confirms.published);
    await expectBrokerEmpty();
    const { overall } = run.result;
    recordFault({
      fault: 'broker SIGKILL + start (load tester)',
      sent: overall.sent,
      lost: overall.lost,
      unconfirmed: overall.unconfirmed,
      recovered: overall.recovered,
      duplicates: overall.duplicates,
      recoverySeconds: recovery,
      note: `republished ${run.result.broker.republished}; ended ${((run.endedAt - restartedAt) / 1000).toFixed(1)} s after the restart`,
    });
  });

  it('memory alarm for 20 s during 2,000 tasks: 0 lost, 0 duplicates, the blocked seconds reported', async () => {
    const alarm = async () => {
      await setMemoryWatermark(0.000001);
      await sleep(20_000);
      await setMemoryWatermark(DEFAULT_MEMORY_WATERMARK);
    };
    const run = await loadTestUnder({ tasksPerQueue: 2000, ratePerSecond: 200 }, (_completed, sent) => sent >= 200, alarm);
    expectHonestLedger(run.result, run.raw);
    expect(run.result.overall.duplicates).toBe(0);
    expect(run.result.broker.outages).toBe(0);
    // The alarm lasted 20 s; the broker raises and clears it within a second or two of the watermark change.
    expect(run.result.broker.publishBlockedMs).toBeGreaterThan(15_000);
    expect(run.result.broker.publishBlockedMs).toBeLessThan(25_000);
    await expectBrokerEmpty();
    const { overall } = run.result;
    recordFault({
      fault: 'memory alarm 20 s (load tester)',
      sent: overall.sent,
      lost: overall.lost,
      unconfirmed: overall.unconfirmed,
      recovered: overall.recovered,
      duplicates: overall.duplicates,
      recoverySeconds: null,
      note: `publishing blocked ${(run.result.broker.publishBlockedMs / 1000).toFixed(1)} s`,
    });
  });

  it('broker stopped with ≥ 500 publishes unconfirmed and not restarted: every confirm settles, exit 1 ≤ --broker-timeout + 5 s, naming the broker', async () => {
    const dir = (await execFileAsync('mktemp', ['-d'])).stdout.trim();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/docker-compose.yml`, 'services:\n  worker:\n    image: qscale/worker:local\n    network_mode: host\n');
    writeFileSync(
      `${dir}/test-config.yml`,
      `project:\n  name: ${RUN}\nbroker:\n  url: ${CHAOS_BROKER_URL}\n  management_url: ${CHAOS_MANAGEMENT_URL}\nworkers:\n  worker:\n    queue: ${QUEUE}\n    min_replicas: 0\n    max_replicas: 4\n    initial_replicas: 0\n`,
    );
    const confirms = { published: 0, settled: 0, unconfirmedAtStop: 0 };
    let outstanding = 0;
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const deps: CliDependencies = {
      ...realDependencies(),
      env: { PATH: process.env.PATH },
      cwd: dir,
      stdout,
      stderr,
      openTaskBroker: async (url, managementUrl) => {
        const real = await openTaskBroker(url, managementUrl);
        return new Proxy(real, {
          get(target, property, receiver) {
            if (property === 'publishTask') {
              return (queue: string, task: Parameters<TaskBroker['publishTask']>[1], replyTo: string, onConfirm: OnConfirm) => {
                confirms.published++;
                outstanding++;
                return target.publishTask(queue, task, replyTo, (failure) => {
                  confirms.settled++;
                  outstanding--;
                  onConfirm(failure);
                });
              };
            }
            const value = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
    // The alarm holds every confirm back: the window fills with unconfirmed publishes; then the broker goes.
    await setMemoryWatermark(0.000001);
    let stoppedAt = 0;
    const stopper = (async () => {
      await waitFor('≥ 500 unconfirmed publishes', async () => outstanding >= 500, 30_000);
      confirms.unconfirmedAtStop = outstanding;
      await stopApp();
      stoppedAt = Date.now();
    })();
    const code = await main(['node', 'qscale', 'load-test', '--tasks', '3000', '--broker-timeout', '10s', '--timeout', '10m', '-q'], deps, new AbortController().signal);
    const endedAt = Date.now();
    await stopper;
    expect(confirms.unconfirmedAtStop).toBeGreaterThanOrEqual(500);
    expect(confirms.settled).toBe(confirms.published);
    expect(code).toBe(1);
    expect(stderr.text).toContain('error: the broker at amqp://guest:***@127.0.0.1:5673 has been unreachable for 10s; giving up the run');
    expect(stderr.text).not.toContain('guest:guest');
    expect((endedAt - stoppedAt) / 1000).toBeLessThanOrEqual(10 + 5);
    await startApp();
    await setMemoryWatermark(DEFAULT_MEMORY_WATERMARK);
    recordFault({
      fault: 'broker stopped, not restarted (load tester)',
      sent: confirms.published,
      lost: 0,
      unconfirmed: confirms.unconfirmedAtStop,
      recovered: 0,
      duplicates: 0,
      recoverySeconds: null,
      note: `exit ${code} ${((endedAt - stoppedAt) / 1000).toFixed(1)} s after stop_app returned (--broker-timeout 10s, counted from the cut); ${confirms.settled}/${confirms.published} confirms settled`,
    });
    // The run's tasks stay in the durable queue: the workers work them off before the next file.
    await consumersBack();
    await waitFor('the task queue to empty', async () => ((await brokerQueueCounts(QUEUE))?.ready ?? 0) === 0, 30_000).catch(() => {});
  });
});
