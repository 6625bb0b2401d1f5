import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/config/qscale-config.js';
import { QscaleError } from '../../../src/core/errors.js';
import { SIMPLE_COMPOSE, writeProject } from '../../support/fixtures.js';

/** A config whose lines are easy to count: `system` is line 1, the worker's autoscale keys start on line 11. */
function config(globalBlock: string, workerBlock: string, broker = '') {
  return `system:
  scaling:
    autoscale:
${globalBlock}
workers:
  worker-a:
    queue: task_a
    min_replicas: 1
    max_replicas: 6
    autoscale:
${workerBlock}
${broker}`;
}

const load = (text: string) => loadConfig({ cwd: writeProject({ 'test-config.yml': text, 'docker-compose.yml': SIMPLE_COMPOSE }), env: {} });

function messageOf(text: string): string {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(QscaleError);
    expect((error as QscaleError).exitCode).toBe(2);
    return (error as QscaleError).message;
  }
  throw new Error('expected a configuration error');
}

describe('autoscale policy in test-config.yml', () => {
  it('merges built-in defaults, the global block and the worker block', () => {
    const [worker] = load(config('      cooldown: 20s\n      stabilization_window: 2m\n      cpu_target_percent: 70', '      target_backlog_per_worker: 25\n      scale_down_cooldown: 1m')).workers;
    expect(worker.autoscale).toEqual({
      enabled: true,
      minReplicas: 1,
      maxReplicas: 6,
      backlog: { kind: 'target-backlog', targetPerWorker: 25 },
      scaleUpCooldownMs: 20_000,
      scaleDownCooldownMs: 60_000,
      stabilizationWindowMs: 120_000,
      staleAfterMs: 10_000,
      cpuTargetPercent: 70,
      messageRate: false,
      activationBacklog: 0,
    });
  });

  it('takes threshold mode whole from the block that names it, steps from either', () => {
    const [worker] = load(config('      scale_up_threshold: 100\n      scale_down_threshold: 5\n      scale_up_step: 3', '      scale_down_step: 2')).workers;
    expect(worker.autoscale?.backlog).toEqual({ kind: 'threshold', scaleUpThreshold: 100, scaleDownThreshold: 5, scaleUpStep: 3, scaleDownStep: 2 });
  });

  it('defaults to rate mode without any block', () => {
    const [worker] = load('workers:\n  worker-a:\n    queue: task_a\n').workers;
    expect(worker.autoscale).toMatchObject({
      backlog: { kind: 'rate', drainTimeMs: 30_000, tolerance: 0.1, reversalWindowMs: 60_000 },
      scaleUpCooldownMs: 10_000,
      scaleDownCooldownMs: 30_000,
      stabilizationWindowMs: 60_000,
    });
    expect(worker.autoscale?.backlog).not.toHaveProperty('serviceRate');
  });

  it('takes rate mode from the block naming drain_time or service_rate; tolerance and reversal_window from either', () => {
    const [worker] = load(config('      target_backlog_per_worker: 20\n      tolerance: 0.2', '      drain_time: 1m\n      service_rate: 12.5\n      reversal_window: 2m')).workers;
    expect(worker.autoscale?.backlog).toEqual({ kind: 'rate', drainTimeMs: 60_000, tolerance: 0.2, reversalWindowMs: 120_000, serviceRate: 12.5 });
  });

  it('reads memory_target_percent and custom_metric, the worker block over the global one', () => {
    const [worker] = load(
      config('      memory_target_percent: 80', "      memory_target_percent: 70\n      custom_metric:\n        url: http://127.0.0.1:9100/metrics\n        target: 50\n        path: jobs_waiting{queue=\"a\"}"),
    ).workers;
    expect(worker.autoscale).toMatchObject({ memoryTargetPercent: 70, customMetric: { url: 'http://127.0.0.1:9100/metrics', target: 50, path: 'jobs_waiting{queue="a"}' } });
  });

  it.each([
    ['memory above 100 %', '      memory_target_percent: 120'],
    ['a custom metric without a target', '      custom_metric:\n        url: http://127.0.0.1:9100/metrics'],
    ['a custom metric URL that is no http URL', '      custom_metric:\n        url: ftp://127.0.0.1/m\n        target: 5'],
  ])('refuses %s, naming where', (_name, block) => {
    expect(messageOf(config('      enabled: true', block))).toMatch(/^test-config\.yml: workers\.worker-a\.autoscale\.(memory_target_percent|custom_metric)/);
  });

  it('reads fallback_replicas and activation_backlog', () => {
    const [worker] = load(config('      activation_backlog: 5', '      fallback_replicas: 3')).workers;
    expect(worker.autoscale).toMatchObject({ fallbackReplicas: 3, activationBacklog: 5 });
  });

  it('reads schedules that raise min_replicas', () => {
    const [worker] = load(config('      enabled: true', '      schedules:\n        - { days: mon-fri, from: "08:00", to: "18:00", min_replicas: 3, timezone: Europe/Berlin }\n        - { from: "22:00", to: "02:00", min_replicas: 2 }')).workers;
    expect(worker.autoscale?.schedules).toEqual([
      { fromMinute: 480, toMinute: 1080, days: [1, 2, 3, 4, 5], minReplicas: 3, timeZone: 'Europe/Berlin', label: 'mon-fri 08:00-18:00 Europe/Berlin' },
      { fromMinute: 1320, toMinute: 120, minReplicas: 2, label: '22:00-02:00 UTC' },
    ]);
  });

  it('keeps the HPA formula where a block names target_backlog_per_worker', () => {
    const [worker] = load(config('      target_backlog_per_worker: 20', '      enabled: true')).workers;
    expect(worker.autoscale?.backlog).toEqual({ kind: 'target-backlog', targetPerWorker: 20 });
  });

  it.each([
    [
      'both modes in one block',
      config('      enabled: true', '      target_backlog_per_worker: 5\n      scale_up_threshold: 50\n      scale_down_threshold: 5'),
      'test-config.yml: workers.worker-a.autoscale.target_backlog_per_worker: set either target_backlog_per_worker or scale_up_threshold/scale_down_threshold, not both (line 11)',
    ],
    [
      'the HPA formula and rate mode in one block',
      config('      enabled: true', '      target_backlog_per_worker: 5\n      drain_time: 20s'),
      'test-config.yml: workers.worker-a.autoscale.target_backlog_per_worker: set either target_backlog_per_worker or drain_time/service_rate (rate mode), not both (line 11)',
    ],
    [
      'thresholds and rate mode in one block',
      config('      service_rate: 8\n      scale_up_threshold: 50\n      scale_down_threshold: 5', '      enabled: true'),
      'test-config.yml: system.scaling.autoscale.service_rate: set either drain_time/service_rate (rate mode) or scale_up_threshold/scale_down_threshold, not both (line 4)',
    ],
    [
      'a tolerance above 1',
      config('      enabled: true', '      tolerance: 1.5'),
      'test-config.yml: workers.worker-a.autoscale.tolerance: Too big: expected number to be <=1 (line 11)',
    ],
    [
      'fallback_replicas outside min..max',
      config('      enabled: true', '      fallback_replicas: 7'),
      "test-config.yml: workers.worker-a.autoscale.fallback_replicas: 7 is outside the worker's 1..6 replicas (line 11)",
    ],
    [
      'a schedule with a bad time',
      config('      enabled: true', '      schedules:\n        - from: "8 am"\n          to: "18:00"\n          min_replicas: 2'),
      'test-config.yml: workers.worker-a.autoscale.schedules[0].from: expected a time of day such as 08:00, got "8 am" (line 12)',
    ],
    [
      'a schedule with bad days',
      config('      enabled: true', '      schedules:\n        - { from: "08:00", to: "18:00", days: weekdays, min_replicas: 2 }'),
      'test-config.yml: workers.worker-a.autoscale.schedules[0].days: expected days such as mon-fri or sat,sun, got "weekdays" (line 12)',
    ],
    [
      'a schedule in an unknown time zone',
      config('      enabled: true', '      schedules:\n        - { from: "08:00", to: "18:00", timezone: Mars/Olympus, min_replicas: 2 }'),
      'test-config.yml: workers.worker-a.autoscale.schedules[0].timezone: unknown time zone "Mars/Olympus" (an IANA name such as Europe/Berlin) (line 12)',
    ],
    [
      'a schedule above max_replicas',
      config('      enabled: true', '      schedules:\n        - { from: "08:00", to: "18:00", min_replicas: 9 }'),
      "test-config.yml: workers.worker-a.autoscale.schedules[0].min_replicas: 9 is above the worker's max_replicas 6 (line 12)",
    ],
    [
      'a threshold without its pair',
      config('      scale_up_threshold: 50', '      enabled: true'),
      'test-config.yml: system.scaling.autoscale.scale_up_threshold: needs scale_down_threshold beside it (line 4)',
    ],
    [
      'thresholds the wrong way round',
      config('      enabled: true', '      scale_up_threshold: 10\n      scale_down_threshold: 10'),
      'test-config.yml: workers.worker-a.autoscale.scale_down_threshold: 10 must be below scale_up_threshold (10) (line 12)',
    ],
    [
      'a bad duration',
      config('      cooldown: soon', '      enabled: true'),
      'test-config.yml: system.scaling.autoscale.cooldown: expected a duration such as 30s, 1m or 500ms, got "soon" (line 4)',
    ],
    [
      'an unknown key',
      config('      enabled: true', '      target_backlog: 5'),
      'test-config.yml: workers.worker-a.autoscale.target_backlog: unknown key "target_backlog" (line 11)',
    ],
    [
      'a wrong type',
      config('      enabled: true', '      target_backlog_per_worker: many'),
      'test-config.yml: workers.worker-a.autoscale.target_backlog_per_worker: expected number, got "many" (line 11)',
    ],
    [
      'a non-positive target',
      config('      enabled: true', '      target_backlog_per_worker: 0'),
      'test-config.yml: workers.worker-a.autoscale.target_backlog_per_worker: Too small: expected number to be >0 (line 11)',
    ],
    [
      'message rates without the management API',
      config('      enabled: true', '      message_rate: true'),
      'test-config.yml: workers.worker-a.autoscale.message_rate: needs broker.management_url: message rates come from the RabbitMQ management API (line 11)',
    ],
  ])('refuses %s with file, path and line', (_name, text, message) => {
    expect(messageOf(text)).toBe(message);
  });

  it('accepts message rates with the management API', () => {
    const [worker] = load(config('      enabled: true', '      message_rate: true', 'broker:\n  management_url: http://127.0.0.1:15672\n')).workers;
    expect(worker.autoscale?.messageRate).toBe(true);
  });
});
