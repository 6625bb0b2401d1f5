import type { AutoscalePolicy } from './policy.js';

/** Queue statistics as observed at `at` (ms since the epoch). */
export interface QueueSample {
  ready: number;
  /** Known through the management API only. */
  unacked?: number;
  consumers: number;
  /** Messages per second published to the queue (management API). */
  publishRate?: number;
  /** Messages per second acknowledged by its consumers (management API). */
  ackRate?: number;
  at: number;
}

/** What the autoscaler knows about one service; a missing sample is one it could not get. */
export interface ServiceMetrics {
  /** Live containers, as Docker lists them. */
  replicas?: { count: number; at: number };
  queue?: QueueSample;
  /** Average CPU percent over the live containers (Docker stats). */
  cpu?: { percent: number; at: number };
}

/** What earlier decisions leave behind; see recordDecision and recordScale. */
export interface AutoscaleHistory {
  /** Recommendations (clamped, before cooldown and stabilisation) within the stabilisation window. */
  recommendations: ReadonlyArray<{ at: number; replicas: number }>;
  lastScaleUpAt?: number;
  lastScaleDownAt?: number;
}

export const EMPTY_HISTORY: AutoscaleHistory = { recommendations: [] };

export type DecisionRule =
  | 'target-backlog'
  | 'threshold'
  | 'cpu'
  | 'message-rate'
  | 'min-replicas'
  | 'max-replicas'
  | 'cooldown'
  | 'stabilization'
  | 'stale';

export type Direction = 'up' | 'down' | 'hold';

export interface DecisionInputs {
  /** ready + unacked: every message not yet acknowledged. */
  backlog?: number;
  ready?: number;
  unacked?: number;
  consumers?: number;
  publishRate?: number;
  ackRate?: number;
  cpuPercent?: number;
  /** Age of the oldest sample the decision used, ms. */
  metricsAgeMs?: number;
}

export interface Decision {
  /** Live replicas; null when Docker could not say. */
  current: number | null;
  /** The count the metrics ask for, clamped to min..max, before cooldown and stabilisation; null on hold for stale data. */
  recommendation: number | null;
  /** What to scale to; equals current on hold. */
  desired: number | null;
  direction: Direction;
  /** The rule that set `desired`. */
  rule: DecisionRule;
  reason: string;
  /** Time left before a scale in each direction is allowed, ms. */
  cooldownRemainingMs: { up: number; down: number };
  inputs: DecisionInputs;
}

export interface DecideInput {
  policy: AutoscalePolicy;
  metrics: ServiceMetrics;
  history: AutoscaleHistory;
  now: number;
}

/** Ratios within 10 % of 1 change nothing, as in the Kubernetes HPA: no flapping on noise. */
export const RATIO_TOLERANCE = 0.1;

interface Candidate {
  rule: DecisionRule;
  replicas: number;
  reason: string;
}

/**
 * Decides one service's replica count from its policy, fresh metrics and what happened before.
 * Pure: same input, same decision. Every enabled rule recommends a count, the highest wins (as the
 * HPA does with several metrics), clamped to min..max; a scale-up then waits for its cooldown, a
 * scale-down goes only as low as the highest recommendation within the stabilisation window and
 * waits for its cooldown. Missing or stale metrics mean hold.
 */
export function decide(input: DecideInput): Decision {
  const { policy, metrics, history, now } = input;
  const cooldownRemainingMs = {
    up: remaining(history.lastScaleUpAt, policy.scaleUpCooldownMs, now),
    down: remaining(latest(history.lastScaleUpAt, history.lastScaleDownAt), policy.scaleDownCooldownMs, now),
  };
  const { replicas, queue, cpu } = metrics;
  const inputs: DecisionInputs = {
    backlog: queue && queue.ready + (queue.unacked ?? 0),
    ready: queue?.ready,
    unacked: queue?.unacked,
    consumers: queue?.consumers,
    publishRate: queue?.publishRate,
    ackRate: queue?.ackRate,
    cpuPercent: cpu?.percent,
  };
  const current = replicas?.count ?? null;
  const hold = (reason: string): Decision => ({ current, recommendation: null, desired: current, direction: 'hold', rule: 'stale', reason, cooldownRemainingMs, inputs });
  const age = (at: number) => now - at;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const staleness = (what: string, sample: { at: number } | undefined): string | undefined => {
    if (!sample) return `no ${what}`;
    if (age(sample.at) > policy.staleAfterMs) return `${what} is ${seconds(age(sample.at))} old (stale after ${seconds(policy.staleAfterMs)})`;
    return undefined;
  };

  const staleReason =
    staleness('container count from Docker', replicas) ??
    staleness('queue statistics from the broker', queue) ??
    (policy.cpuTargetPercent !== undefined && (current ?? 0) > 0 ? staleness('CPU statistics from Docker', cpu) : undefined) ??
    (policy.messageRate && queue && (queue.publishRate === undefined || queue.ackRate === undefined) ? 'no message rates from the management API' : undefined);
  if (staleReason || current === null || !queue || inputs.backlog === undefined) return hold(`hold: ${staleReason ?? 'no data'}`);
  const used = [replicas!.at, queue.at, ...(policy.cpuTargetPercent !== undefined && cpu ? [cpu.at] : [])];
  inputs.metricsAgeMs = Math.max(...used.map(age));

  // Every rule's recommendation; the highest wins.
  const backlog = inputs.backlog;
  const candidates: Candidate[] = [backlogCandidate(policy, backlog, queue, current)];
  if (policy.cpuTargetPercent !== undefined && current > 0 && cpu) {
    const ratio = cpu.percent / policy.cpuTargetPercent;
    const replicasForCpu = Math.abs(ratio - 1) <= RATIO_TOLERANCE ? current : Math.ceil(current * ratio);
    candidates.push({ rule: 'cpu', replicas: replicasForCpu, reason: `cpu ${round(cpu.percent)}% / target ${policy.cpuTargetPercent}% × ${current} → ${replicasForCpu}` });
  }
  if (policy.messageRate && current > 0 && queue.publishRate !== undefined && queue.ackRate !== undefined && queue.ackRate > 0) {
    const ratio = queue.publishRate / queue.ackRate;
    const replicasForRate = Math.abs(ratio - 1) <= RATIO_TOLERANCE ? current : Math.ceil(current * ratio);
    candidates.push({
      rule: 'message-rate',
      replicas: replicasForRate,
      reason: `publish ${round(queue.publishRate)}/s vs ack ${round(queue.ackRate)}/s × ${current} → ${replicasForRate}`,
    });
  }
  let winner = candidates.reduce((best, candidate) => (candidate.replicas > best.replicas ? candidate : best));

  if (winner.replicas > policy.maxReplicas) {
    winner = { rule: 'max-replicas', replicas: policy.maxReplicas, reason: `${winner.reason}, capped at max_replicas ${policy.maxReplicas}` };
  } else if (winner.replicas < policy.minReplicas) {
    winner = { rule: 'min-replicas', replicas: policy.minReplicas, reason: `${winner.reason}, raised to min_replicas ${policy.minReplicas}` };
  }
  const recommendation = winner.replicas;
  const decision = (desired: number, rule: DecisionRule, reason: string): Decision => ({
    current,
    recommendation,
    desired,
    direction: desired > current ? 'up' : desired < current ? 'down' : 'hold',
    rule,
    reason,
    cooldownRemainingMs,
    inputs,
  });
  // Outside the limits (containers died, or the limits changed): back inside at once, no cooldown.
  if (current < policy.minReplicas) return decision(policy.minReplicas, 'min-replicas', `${current} is below min_replicas ${policy.minReplicas}`);
  if (current > policy.maxReplicas) return decision(policy.maxReplicas, 'max-replicas', `${current} is above max_replicas ${policy.maxReplicas}`);

  if (recommendation > current) {
    if (cooldownRemainingMs.up > 0) {
      return decision(current, 'cooldown', `${winner.reason}; scale-up waits ${seconds(cooldownRemainingMs.up)} more (scale_up_cooldown)`);
    }
    return decision(recommendation, winner.rule, winner.reason);
  }
  if (recommendation < current) {
    const windowStart = now - policy.stabilizationWindowMs;
    const recent = history.recommendations.filter((entry) => entry.at > windowStart && entry.at <= now).map((entry) => entry.replicas);
    const stabilized = Math.max(recommendation, ...recent);
    if (stabilized >= current) {
      return decision(current, 'stabilization', `${winner.reason}; held at ${current}: recommended ${stabilized} within the last ${seconds(policy.stabilizationWindowMs)}`);
    }
    if (cooldownRemainingMs.down > 0) {
      return decision(current, 'cooldown', `${winner.reason}; scale-down waits ${seconds(cooldownRemainingMs.down)} more (scale_down_cooldown)`);
    }
    if (stabilized > recommendation) {
      return decision(stabilized, 'stabilization', `${winner.reason}; down to ${stabilized} only: recommended ${stabilized} within the last ${seconds(policy.stabilizationWindowMs)}`);
    }
    return decision(recommendation, winner.rule, winner.reason);
  }
  return decision(current, winner.rule, `${winner.reason}; already at ${current}`);
}

function backlogCandidate(policy: AutoscalePolicy, backlog: number, queue: QueueSample, current: number): Candidate {
  const detail = queue.unacked === undefined ? `backlog ${backlog}` : `backlog ${backlog} (ready ${queue.ready} + unacked ${queue.unacked})`;
  const rule = policy.backlog;
  if (rule.kind === 'target-backlog') {
    const replicas = Math.ceil(backlog / rule.targetPerWorker);
    return { rule: 'target-backlog', replicas, reason: `${detail} / target ${rule.targetPerWorker} per worker → ${replicas}` };
  }
  if (backlog >= rule.scaleUpThreshold) {
    const replicas = current + rule.scaleUpStep;
    return { rule: 'threshold', replicas, reason: `${detail} ≥ scale_up_threshold ${rule.scaleUpThreshold}: +${rule.scaleUpStep} → ${replicas}` };
  }
  if (backlog <= rule.scaleDownThreshold) {
    // Waiting messages keep at least one worker, however low the threshold.
    const replicas = Math.max(current - rule.scaleDownStep, backlog > 0 ? 1 : 0);
    return { rule: 'threshold', replicas, reason: `${detail} ≤ scale_down_threshold ${rule.scaleDownThreshold}: -${rule.scaleDownStep} → ${replicas}` };
  }
  // Between the thresholds nothing changes, except that waiting messages need at least one worker.
  const replicas = current === 0 && backlog > 0 ? 1 : current;
  return { rule: 'threshold', replicas, reason: `${detail} between the thresholds (${rule.scaleDownThreshold}..${rule.scaleUpThreshold}) → ${replicas}` };
}

/** The history after a decision: its recommendation added, entries older than the window dropped. */
export function recordDecision(history: AutoscaleHistory, decision: Decision, now: number, policy: AutoscalePolicy): AutoscaleHistory {
  const windowStart = now - policy.stabilizationWindowMs;
  const kept = history.recommendations.filter((entry) => entry.at > windowStart);
  const recommendations = decision.recommendation === null ? kept : [...kept, { at: now, replicas: decision.recommendation }];
  return { ...history, recommendations };
}

/** The history after a scale was carried out. */
export function recordScale(history: AutoscaleHistory, direction: Direction, at: number): AutoscaleHistory {
  if (direction === 'up') return { ...history, lastScaleUpAt: at };
  if (direction === 'down') return { ...history, lastScaleDownAt: at };
  return history;
}

function remaining(since: number | undefined, cooldownMs: number, now: number): number {
  return since === undefined ? 0 : Math.max(0, since + cooldownMs - now);
}

function latest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
