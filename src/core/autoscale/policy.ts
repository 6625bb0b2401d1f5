import { z } from 'zod';
import { parseDurationMs } from '../duration.js';
import { configError } from '../errors.js';
import { locate, type YamlPath, type YamlSource } from '../config/yaml-source.js';
import { isTimeZone, parseClock, parseDays, type MinimumWindow } from './schedule.js';

/** How the queue backlog turns into a replica count. */
export type BacklogRule =
  /**
   * The default: desired = ceil(arrival rate ÷ one worker's service rate + backlog ÷ (service rate ×
   * drainTime)), both rates measured at the broker. Scale-ups wait until the need exceeds the
   * replicas by `tolerance` (unless messages wait); no down within `reversalWindowMs` of an up,
   * no up within it of a down unless messages wait; `serviceRate` is a prior used until one is measured.
   */
  | { kind: 'rate'; drainTimeMs: number; tolerance: number; reversalWindowMs: number; serviceRate?: number }
  /** HPA-style: desired = ceil(backlog / targetPerWorker). */
  | { kind: 'target-backlog'; targetPerWorker: number }
  /** Steps: backlog ≥ scaleUpThreshold adds scaleUpStep; backlog ≤ scaleDownThreshold removes scaleDownStep. */
  | { kind: 'threshold'; scaleUpThreshold: number; scaleDownThreshold: number; scaleUpStep: number; scaleDownStep: number };

export interface CustomMetricSpec {
  url: string;
  /** The value one worker should carry. */
  target: number;
  /** Prometheus: a metric name, optionally with labels (`name{queue="a"}`), matching samples summed; JSON: a dotted path (`stats.backlog`, `items.0.n`). */
  path?: string;
}

/** One worker service's autoscaling policy, resolved from the config with every default applied. */
export interface AutoscalePolicy {
  /** `autoscale.enabled: false` leaves the service out of `qscale autoscale` with no service named. */
  enabled: boolean;
  minReplicas: number;
  maxReplicas: number;
  backlog: BacklogRule;
  /** Minimum time between two scale-ups. */
  scaleUpCooldownMs: number;
  /** Minimum time after any scale event before a scale-down. */
  scaleDownCooldownMs: number;
  /** Scale down only to the highest recommendation seen within this window (the HPA's stabilisation). */
  stabilizationWindowMs: number;
  /** Metrics older than this are stale: the decision is to hold. */
  staleAfterMs: number;
  /** HPA-style on the average CPU of the live containers: desired = ceil(current × cpu / target). */
  cpuTargetPercent?: number;
  /** HPA-style on the average memory use (percent of each container's limit): desired = ceil(current × memory / target). */
  memoryTargetPercent?: number;
  /** A value read from a URL (Prometheus text or JSON): desired = ceil(value / target per worker). */
  customMetric?: CustomMetricSpec;
  /** Also scale on publish rate against ack rate (needs the management API). */
  messageRate: boolean;
  /** While the broker's figures are stale, run this many (KEDA's fallback); without it, hold. */
  fallbackReplicas?: number;
  /** From zero replicas, start one only when the backlog is above this. */
  activationBacklog: number;
  /** Time windows that raise min_replicas (KEDA's cron scaler). */
  schedules?: ReadonlyArray<MinimumWindow>;
}

export const DEFAULT_AUTOSCALE = {
  drainTimeMs: 30_000,
  tolerance: 0.1,
  reversalWindowMs: 60_000,
  targetBacklogPerWorker: 10,
  scaleUpStep: 1,
  scaleDownStep: 1,
  scaleUpCooldownMs: 10_000,
  scaleDownCooldownMs: 30_000,
  stabilizationWindowMs: 60_000,
  staleAfterMs: 10_000,
} as const;

/** The built-in backlog rule: rate mode with its defaults. */
export const DEFAULT_RATE_RULE: BacklogRule = {
  kind: 'rate',
  drainTimeMs: DEFAULT_AUTOSCALE.drainTimeMs,
  tolerance: DEFAULT_AUTOSCALE.tolerance,
  reversalWindowMs: DEFAULT_AUTOSCALE.reversalWindowMs,
};

const duration = z.unknown().transform((value, context) => {
  const ms = typeof value === 'number' || typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined) {
    context.addIssue({ code: 'custom', message: `expected a duration such as 30s, 1m or 500ms, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return ms;
});

/** `system.scaling.autoscale` and `workers.<svc>.autoscale`: the same keys; the worker's win. */
export const autoscaleSchema = z.strictObject({
  enabled: z.boolean().optional(),
  drain_time: duration.optional(),
  tolerance: z.number().nonnegative().max(1).optional(),
  reversal_window: duration.optional(),
  service_rate: z.number().positive().optional(),
  target_backlog_per_worker: z.number().positive().optional(),
  scale_up_threshold: z.number().int().nonnegative().optional(),
  scale_down_threshold: z.number().int().nonnegative().optional(),
  scale_up_step: z.number().int().positive().optional(),
  scale_down_step: z.number().int().positive().optional(),
  cooldown: duration.optional(),
  scale_up_cooldown: duration.optional(),
  scale_down_cooldown: duration.optional(),
  stabilization_window: duration.optional(),
  stale_after: duration.optional(),
  cpu_target_percent: z.number().positive().optional(),
  memory_target_percent: z.number().positive().max(100).optional(),
  custom_metric: z
    .strictObject({
      url: z.string().refine((url) => /^https?:\/\/[^\s/]+/.test(url), 'expected an http:// or https:// URL'),
      target: z.number().positive(),
      path: z.string().min(1).optional(),
    })
    .optional(),
  message_rate: z.boolean().optional(),
  fallback_replicas: z.number().int().nonnegative().optional(),
  activation_backlog: z.number().int().nonnegative().optional(),
  schedules: z
    .array(z.strictObject({ from: z.string(), to: z.string(), days: z.string().optional(), min_replicas: z.number().int().nonnegative(), timezone: z.string().optional() }))
    .optional(),
});

export type RawAutoscale = z.output<typeof autoscaleSchema>;

export interface ResolvePolicyInput {
  source: YamlSource;
  /** `system.scaling.autoscale`, if present. */
  global?: RawAutoscale;
  /** `workers.<svc>.autoscale`, if present. */
  worker?: RawAutoscale;
  /** YAML path of the worker's block, for messages: ['workers', name, 'autoscale']. */
  workerPath: YamlPath;
  minReplicas: number;
  maxReplicas: number;
  hasManagementApi: boolean;
}

const MODE_KEYS = ['drain_time', 'service_rate', 'target_backlog_per_worker', 'scale_up_threshold', 'scale_down_threshold'] as const;
const GLOBAL_PATH: YamlPath = ['system', 'scaling', 'autoscale'];

/**
 * Merges built-in defaults, the global block and the worker's block into one policy. The backlog
 * mode comes whole from the most specific block naming one; other keys merge one by one.
 */
export function resolveAutoscalePolicy(input: ResolvePolicyInput): AutoscalePolicy {
  const { source, global = {}, worker = {}, workerPath } = input;
  const namesMode = (block: RawAutoscale) => MODE_KEYS.some((key) => block[key] !== undefined);
  const [modeBlock, modePath] = namesMode(worker) ? [worker, workerPath] : namesMode(global) ? [global, GLOBAL_PATH] : [{} as RawAutoscale, workerPath];
  const fail = (path: YamlPath, key: string, message: string) => configError(locate(source, [...path, key], message));

  let backlog: BacklogRule;
  if (modeBlock.target_backlog_per_worker !== undefined && (modeBlock.scale_up_threshold !== undefined || modeBlock.scale_down_threshold !== undefined)) {
    throw fail(modePath, 'target_backlog_per_worker', 'set either target_backlog_per_worker or scale_up_threshold/scale_down_threshold, not both');
  }
  if (modeBlock.scale_up_threshold !== undefined || modeBlock.scale_down_threshold !== undefined) {
    if (modeBlock.drain_time !== undefined || modeBlock.service_rate !== undefined) {
      throw fail(modePath, modeBlock.drain_time !== undefined ? 'drain_time' : 'service_rate', 'set either drain_time/service_rate (rate mode) or scale_up_threshold/scale_down_threshold, not both');
    }
    if (modeBlock.scale_up_threshold === undefined) throw fail(modePath, 'scale_down_threshold', 'needs scale_up_threshold beside it');
    if (modeBlock.scale_down_threshold === undefined) throw fail(modePath, 'scale_up_threshold', 'needs scale_down_threshold beside it');
    if (modeBlock.scale_down_threshold >= modeBlock.scale_up_threshold) {
      throw fail(modePath, 'scale_down_threshold', `${modeBlock.scale_down_threshold} must be below scale_up_threshold (${modeBlock.scale_up_threshold})`);
    }
    backlog = {
      kind: 'threshold',
      scaleUpThreshold: modeBlock.scale_up_threshold,
      scaleDownThreshold: modeBlock.scale_down_threshold,
      scaleUpStep: worker.scale_up_step ?? global.scale_up_step ?? DEFAULT_AUTOSCALE.scaleUpStep,
      scaleDownStep: worker.scale_down_step ?? global.scale_down_step ?? DEFAULT_AUTOSCALE.scaleDownStep,
    };
  } else if (modeBlock.target_backlog_per_worker !== undefined) {
    if (modeBlock.drain_time !== undefined || modeBlock.service_rate !== undefined) {
      throw fail(modePath, 'target_backlog_per_worker', 'set either target_backlog_per_worker or drain_time/service_rate (rate mode), not both');
    }
    backlog = { kind: 'target-backlog', targetPerWorker: modeBlock.target_backlog_per_worker };
  } else {
    backlog = {
      kind: 'rate',
      drainTimeMs: modeBlock.drain_time ?? DEFAULT_AUTOSCALE.drainTimeMs,
      tolerance: worker.tolerance ?? global.tolerance ?? DEFAULT_AUTOSCALE.tolerance,
      reversalWindowMs: worker.reversal_window ?? global.reversal_window ?? DEFAULT_AUTOSCALE.reversalWindowMs,
      ...(modeBlock.service_rate !== undefined ? { serviceRate: modeBlock.service_rate } : {}),
    };
  }

  const pick = <K extends keyof RawAutoscale>(key: K): RawAutoscale[K] => worker[key] ?? global[key];
  const messageRate = pick('message_rate') ?? false;
  if (messageRate && !input.hasManagementApi) {
    const path = worker.message_rate !== undefined ? workerPath : GLOBAL_PATH;
    throw fail(path, 'message_rate', 'needs broker.management_url: message rates come from the RabbitMQ management API');
  }
  const fallbackReplicas = pick('fallback_replicas');
  if (fallbackReplicas !== undefined && (fallbackReplicas < input.minReplicas || fallbackReplicas > input.maxReplicas)) {
    const path = worker.fallback_replicas !== undefined ? workerPath : GLOBAL_PATH;
    throw fail(path, 'fallback_replicas', `${fallbackReplicas} is outside the worker's ${input.minReplicas}..${input.maxReplicas} replicas`);
  }
  const schedulesPath = worker.schedules !== undefined ? workerPath : GLOBAL_PATH;
  const schedules = pick('schedules')?.map((entry, index): MinimumWindow => {
    const at = (key: string, message: string) => configError(locate(source, [...schedulesPath, 'schedules', index, key], message));
    const fromMinute = parseClock(entry.from);
    const toMinute = parseClock(entry.to);
    if (fromMinute === undefined) throw at('from', `expected a time of day such as 08:00, got "${entry.from}"`);
    if (toMinute === undefined) throw at('to', `expected a time of day such as 18:00, got "${entry.to}"`);
    const days = entry.days === undefined ? undefined : parseDays(entry.days);
    if (entry.days !== undefined && !days) throw at('days', `expected days such as mon-fri or sat,sun, got "${entry.days}"`);
    if (entry.timezone !== undefined && !isTimeZone(entry.timezone)) throw at('timezone', `unknown time zone "${entry.timezone}" (an IANA name such as Europe/Berlin)`);
    if (entry.min_replicas > input.maxReplicas) throw at('min_replicas', `${entry.min_replicas} is above the worker's max_replicas ${input.maxReplicas}`);
    const label = `${entry.days ? `${entry.days} ` : ''}${entry.from}-${entry.to}${entry.timezone ? ` ${entry.timezone}` : ' UTC'}`;
    return { fromMinute, toMinute, ...(days ? { days } : {}), minReplicas: entry.min_replicas, ...(entry.timezone ? { timeZone: entry.timezone } : {}), label };
  });
  return {
    enabled: worker.enabled ?? true,
    minReplicas: input.minReplicas,
    maxReplicas: input.maxReplicas,
    backlog,
    // A specific cooldown beats the shared `cooldown` of the same block; the worker's block beats the global one.
    scaleUpCooldownMs: worker.scale_up_cooldown ?? worker.cooldown ?? global.scale_up_cooldown ?? global.cooldown ?? DEFAULT_AUTOSCALE.scaleUpCooldownMs,
    scaleDownCooldownMs: worker.scale_down_cooldown ?? worker.cooldown ?? global.scale_down_cooldown ?? global.cooldown ?? DEFAULT_AUTOSCALE.scaleDownCooldownMs,
    stabilizationWindowMs: pick('stabilization_window') ?? DEFAULT_AUTOSCALE.stabilizationWindowMs,
    staleAfterMs: pick('stale_after') ?? DEFAULT_AUTOSCALE.staleAfterMs,
    cpuTargetPercent: pick('cpu_target_percent'),
    ...(pick('memory_target_percent') !== undefined ? { memoryTargetPercent: pick('memory_target_percent') } : {}),
    ...(pick('custom_metric') !== undefined ? { customMetric: pick('custom_metric') as CustomMetricSpec } : {}),
    messageRate,
    ...(fallbackReplicas !== undefined ? { fallbackReplicas } : {}),
    activationBacklog: pick('activation_backlog') ?? 0,
    ...(schedules?.length ? { schedules } : {}),
  };
}

/** The policy in words, one line: what `qscale autoscale` prints at start. */
export function describePolicy(policy: AutoscalePolicy): string {
  const seconds = (ms: number) => `${ms / 1000}s`;
  const rule =
    policy.backlog.kind === 'rate'
      ? `arrival rate ÷ service rate${policy.backlog.serviceRate !== undefined ? ` (${policy.backlog.serviceRate}/s until measured)` : ''} + backlog drained in ${seconds(policy.backlog.drainTimeMs)}, tolerance ${Math.round(policy.backlog.tolerance * 100)}%, no reversal within ${seconds(policy.backlog.reversalWindowMs)}`
      : policy.backlog.kind === 'target-backlog'
        ? `target ${policy.backlog.targetPerWorker} messages per worker`
        : `up ${policy.backlog.scaleUpStep} at ≥ ${policy.backlog.scaleUpThreshold}, down ${policy.backlog.scaleDownStep} at ≤ ${policy.backlog.scaleDownThreshold} messages`;
  const extras = [
    policy.cpuTargetPercent !== undefined ? `cpu ${policy.cpuTargetPercent}%` : '',
    policy.memoryTargetPercent !== undefined ? `memory ${policy.memoryTargetPercent}%` : '',
    policy.customMetric !== undefined ? `${policy.customMetric.path ?? 'value'} at ${policy.customMetric.url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@')} ÷ ${policy.customMetric.target} per worker` : '',
    policy.messageRate ? 'message rates' : '',
    policy.fallbackReplicas !== undefined ? `fallback ${policy.fallbackReplicas} while figures are stale` : '',
    policy.activationBacklog > 0 ? `from 0 above ${policy.activationBacklog} messages` : '',
    ...(policy.schedules ?? []).map((window) => `at least ${window.minReplicas} ${window.label}`),
  ].filter(Boolean);
  return `${policy.minReplicas}..${policy.maxReplicas} replicas, ${rule}${extras.length ? `, ${extras.join(', ')}` : ''}; cooldown up ${seconds(policy.scaleUpCooldownMs)} down ${seconds(policy.scaleDownCooldownMs)}, stabilisation ${seconds(policy.stabilizationWindowMs)}`;
}

/** The policy of a worker built without loadConfig (tests, embedders): the built-in defaults. */
export function policyOf(worker: { minReplicas: number; maxReplicas: number; autoscale?: AutoscalePolicy }): AutoscalePolicy {
  return (
    worker.autoscale ?? {
      enabled: true,
      minReplicas: worker.minReplicas,
      maxReplicas: worker.maxReplicas,
      backlog: DEFAULT_RATE_RULE,
      scaleUpCooldownMs: DEFAULT_AUTOSCALE.scaleUpCooldownMs,
      scaleDownCooldownMs: DEFAULT_AUTOSCALE.scaleDownCooldownMs,
      stabilizationWindowMs: DEFAULT_AUTOSCALE.stabilizationWindowMs,
      staleAfterMs: DEFAULT_AUTOSCALE.staleAfterMs,
      messageRate: false,
      activationBacklog: 0,
    }
  );
}
