import type { AutoscalePolicy, BacklogRule } from './policy.js';
import { serviceRateOf, updateRates, type RateEstimate } from './rates.js';
import { scheduledMinimum } from './schedule.js';

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
  /** Average memory use over the live containers, percent of their limit (Docker stats). */
  memory?: { percent: number; at: number };
  /** The custom metric's value (custom-metric.ts). */
  custom?: { value: number; at: number };
}

/** What earlier decisions leave behind; see recordDecision and recordScale. */
export interface AutoscaleHistory {
  /** Recommendations (clamped, before cooldown and stabilisation) within the stabilisation window. */
  recommendations: ReadonlyArray<{ at: number; replicas: number }>;
  lastScaleUpAt?: number;
  lastScaleDownAt?: number;
  /** Arrival and service rates learnt so far (see rates.ts); every mode keeps them, rate mode decides on them. */
  rates?: RateEstimate;
}

export const EMPTY_HISTORY: AutoscaleHistory = { recommendations: [] };

export type DecisionRule =
  | 'rate'
  | 'fallback'
  | 'activation'
  | 'zero-guard'
  | 'tolerance'
  | 'hysteresis'
  | 'reversal'
  | 'target-backlog'
  | 'threshold'
  | 'cpu'
  | 'memory'
  | 'custom-metric'
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
  memoryPercent?: number;
  customMetric?: number;
  /** Rate mode: the smoothed arrival rate used, tasks/s. */
  arrivalRate?: number;
  /** Rate mode: one worker's service rate used, tasks/s (measured, else the configured prior). */
  serviceRate?: number;
  /** Rate mode: the replicas needed before rounding: arrivals ÷ service rate + the drain term. */
  need?: number;
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
  /** The rate estimate after this poll's sample, for the history (recordDecision). */
  rates?: RateEstimate;
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
  /** Rate mode: messages wait long enough that the fleet is behind; tolerance and reversal limits step aside. */
  behind?: boolean;
  /** Rate mode: messages have waited at every poll for a drain time: the tolerance steps aside, so the backlog drains. */
  persistentBacklog?: boolean;
  /** Rate mode: the need before rounding. */
  need?: number;
  /** Rate mode: the replicas a scale-down may go to at the lowest (the need with DOWN_NOISE_HEADROOM). */
  downFloor?: number;
}

/** Rate mode: a backlog that takes the fleet longer than this to reach means it is behind. */
export const BEHIND_AFTER_S = 5;
/** Rate mode: standard deviations of the arrival rate's noise added to the arrival rate. */
export const NOISE_HEADROOM = 1;
/**
 * Rate mode: standard deviations of noise a scale-down must leave room for. Twice the scale-up's:
 * a level that sits on a whole replica (one worker's capacity ± noise) then keeps the higher count
 * instead of flipping between the two, while noise-free arrivals keep no margin.
 */
export const DOWN_NOISE_HEADROOM = 2;
/** Rate mode: a need within this of a whole replica rounds down (measured rates are never exact). */
export const NEED_ROUNDING = 0.05;
/** Rate mode: a fall by 2 replicas or more is confirmed after this, instead of the stabilisation window. */
export const QUICK_FALL_WINDOW_MS = 20_000;
/** Rate mode: until a service rate is measured (and none is configured), this backlog per worker decides. */
export const FALLBACK_BACKLOG_PER_WORKER = 10;

/**
 * Decides one service's replica count from its policy, fresh metrics and what happened before.
 * Pure: same input, same decision. Every enabled rule recommends a count, the highest wins (as the
 * HPA does with several metrics), clamped to min..max; a scale-up then waits for its cooldown, a
 * scale-down goes only as low as the highest recommendation within the stabilisation window and
 * waits for its cooldown. Missing or stale metrics mean hold.
 */
export function decide(input: DecideInput): Decision {
  const { metrics, history, now } = input;
  // Schedule windows open now raise the minimum (never above max_replicas).
  const scheduled = input.policy.schedules && scheduledMinimum(input.policy.schedules, now);
  const raised = scheduled !== undefined && scheduled.minReplicas > input.policy.minReplicas;
  const policy = raised ? { ...input.policy, minReplicas: Math.min(input.policy.maxReplicas, scheduled.minReplicas) } : input.policy;
  const minName = `min_replicas ${policy.minReplicas}${raised ? ` (schedule ${scheduled.window.label})` : ''}`;
  const cooldownRemainingMs = {
    up: remaining(history.lastScaleUpAt, policy.scaleUpCooldownMs, now),
    down: remaining(latest(history.lastScaleUpAt, history.lastScaleDownAt), policy.scaleDownCooldownMs, now),
  };
  const { replicas, queue, cpu, memory, custom } = metrics;
  const inputs: DecisionInputs = {
    backlog: queue && queue.ready + (queue.unacked ?? 0),
    ready: queue?.ready,
    unacked: queue?.unacked,
    consumers: queue?.consumers,
    publishRate: queue?.publishRate,
    ackRate: queue?.ackRate,
    cpuPercent: cpu?.percent,
    memoryPercent: memory?.percent,
    customMetric: custom?.value,
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
    (policy.memoryTargetPercent !== undefined && (current ?? 0) > 0 ? staleness('memory statistics from Docker', memory) : undefined) ??
    (policy.customMetric !== undefined ? staleness(`the custom metric from ${policy.customMetric.url}`, custom) : undefined) ??
    (policy.messageRate && queue && (queue.publishRate === undefined || queue.ackRate === undefined) ? 'no message rates from the management API' : undefined);
  if (staleReason && current !== null && policy.fallbackReplicas !== undefined && !staleness('container count from Docker', replicas)) {
    // KEDA's fallback: with the broker's figures gone, run a known-safe count rather than freeze.
    const fallback = Math.min(policy.maxReplicas, Math.max(policy.minReplicas, policy.fallbackReplicas));
    const direction = fallback > current ? 'up' : fallback < current ? 'down' : 'hold';
    return { current, recommendation: null, desired: fallback, direction, rule: 'fallback', reason: `${staleReason}: fallback_replicas ${fallback}`, cooldownRemainingMs, inputs };
  }
  if (staleReason || current === null || !queue || inputs.backlog === undefined) return hold(`hold: ${staleReason ?? 'no data'}`);
  const used = [
    replicas!.at,
    queue.at,
    ...(policy.cpuTargetPercent !== undefined && cpu ? [cpu.at] : []),
    ...(policy.memoryTargetPercent !== undefined && memory ? [memory.at] : []),
    ...(policy.customMetric !== undefined && custom ? [custom.at] : []),
  ];
  inputs.metricsAgeMs = Math.max(...used.map(age));
  const rates = updateRates(history.rates, queue, policy.backlog.kind === 'rate' ? policy.backlog.serviceRate : undefined);

  // Every rule's recommendation; the highest wins.
  const backlog = inputs.backlog;
  const backlogRecommendation = policy.backlog.kind === 'rate' ? rateCandidate(policy.backlog, backlog, queue, current, rates, inputs) : backlogCandidate(policy.backlog, backlog, queue, current);
  const candidates: Candidate[] = [backlogRecommendation];
  if (policy.cpuTargetPercent !== undefined && current > 0 && cpu) {
    const ratio = cpu.percent / policy.cpuTargetPercent;
    const replicasForCpu = Math.abs(ratio - 1) <= RATIO_TOLERANCE ? current : Math.ceil(current * ratio);
    candidates.push({ rule: 'cpu', replicas: replicasForCpu, reason: `cpu ${round(cpu.percent)}% / target ${policy.cpuTargetPercent}% × ${current} → ${replicasForCpu}` });
  }
  if (policy.memoryTargetPercent !== undefined && current > 0 && memory) {
    const ratio = memory.percent / policy.memoryTargetPercent;
    const replicasForMemory = Math.abs(ratio - 1) <= RATIO_TOLERANCE ? current : Math.ceil(current * ratio);
    candidates.push({ rule: 'memory', replicas: replicasForMemory, reason: `memory ${round(memory.percent)}% / target ${policy.memoryTargetPercent}% × ${current} → ${replicasForMemory}` });
  }
  if (policy.customMetric !== undefined && custom) {
    // The HPA's AverageValue: the value spread over workers, each taking `target` of it.
    const { target } = policy.customMetric;
    const exact = custom.value / target;
    const replicasForCustom = current > 0 && Math.abs(exact / current - 1) <= RATIO_TOLERANCE ? current : Math.ceil(exact);
    candidates.push({ rule: 'custom-metric', replicas: replicasForCustom, reason: `custom metric ${round(custom.value)} / target ${target} per worker → ${replicasForCustom}` });
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
    winner = { rule: 'min-replicas', replicas: policy.minReplicas, reason: `${winner.reason}, raised to ${minName}` };
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
    rates,
  });
  // Outside the limits (containers died, or the limits changed): back inside at once, no cooldown.
  if (current < policy.minReplicas) return decision(policy.minReplicas, 'min-replicas', `${current} is below ${minName}`);
  if (current > policy.maxReplicas) return decision(policy.maxReplicas, 'max-replicas', `${current} is above max_replicas ${policy.maxReplicas}`);
  // From zero, only a backlog above the activation level starts a worker (KEDA's activation).
  if (current === 0 && recommendation > 0 && backlog <= policy.activationBacklog) {
    return decision(0, 'activation', `${winner.reason}; held at 0: backlog ${backlog} is not above activation_backlog ${policy.activationBacklog}`);
  }
  const chosen = decideWithinLimits(current);
  // Never to zero while a message is unacked (or nobody can say): stopping the last worker would
  // requeue its tasks and start another, without end (KEDA #356). Nor while messages wait.
  if (chosen.desired === 0 && current > 0 && (queue.unacked === undefined || queue.unacked > 0 || queue.ready > 0)) {
    const why = queue.unacked === undefined ? 'the unacked count is unknown (no management API)' : queue.unacked > 0 ? `${queue.unacked} unacked` : `${queue.ready} ready`;
    return decision(1, 'zero-guard', `${chosen.reason}; kept 1, not 0: ${why}`);
  }
  return chosen;

  // The mode's own up and down, for replicas within min..max.
  function decideWithinLimits(current: number): Decision {
    if (policy.backlog.kind === 'rate') {
      return decideByRate({ rule: policy.backlog, policy, history, now, current, winner, rateWon: winner.rule === 'rate' || backlogRecommendation.replicas === winner.replicas, behind: Boolean(backlogRecommendation.behind), persistentBacklog: Boolean(backlogRecommendation.persistentBacklog), need: backlogRecommendation.need, downFloor: backlogRecommendation.downFloor, changedAt: rates.changedAt, cooldownRemainingMs, decision });
    }

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
}

/**
 * Rate mode's recommendation: ceil(arrival rate ÷ service rate + waiting messages ÷ (service rate
 * × drain time)). The arrival rate is the slow estimate (noise-proof; restarted at a confirmed new level,
 * rates.ts), or the highest of slow, fast, last and the queue-depth rate while the fleet is
 * behind (messages wait over BEHIND_AFTER_S): a rise is acted on when the queue shows it, not when
 * one sample suggests it.
 */
function rateCandidate(rule: Extract<BacklogRule, { kind: 'rate' }>, backlog: number, queue: QueueSample, current: number, rates: RateEstimate, inputs: DecisionInputs): Candidate {
  const measured = serviceRateOf(rates) ?? rule.serviceRate;
  // Until a service rate is measured, what each consumer acked is a floor for it: the need it gives
  // errs high, never low.
  const floor = queue.ackRate !== undefined && queue.ackRate > 0 && queue.consumers > 0 ? queue.ackRate / queue.consumers : undefined;
  const serviceRate = measured ?? floor;
  const { arrivalSlow: slow, arrivalFast: fast, arrivalLast: last } = rates;
  const persistentBacklog = rates.waitingSince !== undefined && rates.at - rates.waitingSince >= rule.drainTimeMs;
  if (serviceRate === undefined || slow === undefined || fast === undefined) {
    const missing = serviceRate === undefined ? 'no service rate measured yet' : 'no arrival rate yet';
    const byBacklog = Math.ceil(backlog / FALLBACK_BACKLOG_PER_WORKER);
    // A fleet that never empties the queue gets one more, which also shows what a worker does.
    if (persistentBacklog && byBacklog <= current) {
      return { rule: 'rate', replicas: current + 1, reason: `${missing}: messages waited at every poll for ${rule.drainTimeMs / 1000}s → ${current + 1}` };
    }
    return { rule: 'rate', replicas: byBacklog, reason: `${missing}: backlog ${backlog} / ${FALLBACK_BACKLOG_PER_WORKER} per worker → ${byBacklog}` };
  }
  // What waits: the ready messages, and the unacked ones beyond one in progress per consumer
  // (prefetched). The ones in progress are the arrival term's business.
  const waiting = queue.ready + Math.max(0, (queue.unacked ?? 0) - queue.consumers);
  const waitS = waiting / (Math.max(current, 1) * serviceRate);
  const behind = waitS > BEHIND_AFTER_S;
  let arrival: number;
  let basis: string;
  let noise = 0;
  if (behind) {
    // Every sign of the rise counts, the queue's own first: the publish rate lags it by seconds.
    arrival = Math.max(slow, fast, last ?? fast, rates.arrivalByDepth ?? 0);
    basis = `behind: ${round(waitS)}s of work waiting`;
  } else {
    // Noisy arrivals get headroom in proportion to their noise: the queue then rarely builds up,
    // and the count rarely moves. Steady arrivals get none.
    noise = Math.sqrt(rates.arrivalVariance ?? 0);
    arrival = slow + NOISE_HEADROOM * noise;
    basis = `${rates.changedAt !== undefined && rates.changedAt === rates.at ? 'new level' : 'steady'}${noise >= 0.05 ? ` ${round(slow)}/s + ${NOISE_HEADROOM} × noise ${round(noise)}/s` : ''}`;
  }
  const drainS = rule.drainTimeMs / 1000;
  const need = arrival / serviceRate + waiting / (serviceRate * drainS);
  // Waiting messages keep one worker, however small their share of one.
  const replicas = Math.max(backlog > 0 ? 1 : 0, Math.ceil(need - NEED_ROUNDING));
  const downFloor = Math.max(replicas, Math.ceil(need + ((DOWN_NOISE_HEADROOM - NOISE_HEADROOM) * noise) / serviceRate - NEED_ROUNDING));
  inputs.arrivalRate = round(arrival);
  inputs.serviceRate = round(serviceRate);
  inputs.need = Math.round(need * 100) / 100;
  return {
    rule: 'rate',
    replicas,
    behind,
    persistentBacklog,
    need,
    downFloor,
    reason: `arrivals ${round(arrival)}/s (${basis}) / ${measured === undefined ? 'at least ' : ''}${round(serviceRate)}/s per worker + ${round(waiting)} waiting drained in ${drainS}s → need ${inputs.need} → ${replicas}`,
  };
}

interface RateDecisionInput {
  rule: Extract<BacklogRule, { kind: 'rate' }>;
  policy: AutoscalePolicy;
  history: AutoscaleHistory;
  now: number;
  current: number;
  /** The highest recommendation, clamped to min..max. */
  winner: Candidate;
  /** Whether the rate rule made it (the tolerance is on its need; CPU and message-rate rules have their own). */
  rateWon: boolean;
  behind: boolean;
  persistentBacklog: boolean;
  need?: number;
  /** The lowest count a scale-down may go to (rateCandidate's downFloor). */
  downFloor?: number;
  /** When the arrival rate last moved to a new level (rates.ts). */
  changedAt?: number;
  cooldownRemainingMs: { up: number; down: number };
  decision(desired: number, rule: DecisionRule, reason: string): Decision;
}

/**
 * Rate mode's up and down. Up: to the recommendation, once the need exceeds the replicas by the
 * tolerance (waived when messages have waited at every poll for a drain time, so they drain), not
 * within the reversal window of a scale-down, after the up cooldown — each waived while the fleet
 * is behind. Down: never within the reversal window of a scale-up (a spike shorter than the window
 * keeps its workers until the window ends: a down then is no reversal); a fall of 2 replicas or
 * more goes to the highest recommendation of the last QUICK_FALL_WINDOW_MS (so the fleet stays
 * within need + 1 beyond that), a smaller one to the highest of the stabilisation window; never
 * below the need with DOWN_NOISE_HEADROOM (hysteresis: up at 1 σ of noise, down leaving 2 σ);
 * after the down cooldown.
 */
function decideByRate(input: RateDecisionInput): Decision {
  const { rule, policy, history, now, current, winner, behind, need, cooldownRemainingMs, decision } = input;
  const recommendation = winner.replicas;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  if (recommendation > current) {
    if (input.rateWon && need !== undefined && !behind && !input.persistentBacklog && current > 0 && need <= current * (1 + rule.tolerance)) {
      return decision(current, 'tolerance', `${winner.reason}; held at ${current}: need ${round(need)} is within the ${Math.round(rule.tolerance * 100)}% tolerance`);
    }
    const sinceDown = history.lastScaleDownAt === undefined ? Infinity : now - history.lastScaleDownAt;
    if (!behind && sinceDown < rule.reversalWindowMs) {
      return decision(current, 'reversal', `${winner.reason}; held at ${current}: scaled down ${seconds(sinceDown)} ago (reversal window ${seconds(rule.reversalWindowMs)}) and no messages wait`);
    }
    if (!behind && cooldownRemainingMs.up > 0) {
      return decision(current, 'cooldown', `${winner.reason}; scale-up waits ${seconds(cooldownRemainingMs.up)} more (scale_up_cooldown)`);
    }
    return decision(recommendation, winner.rule, winner.reason);
  }
  if (recommendation < current) {
    const sinceUp = history.lastScaleUpAt === undefined ? Infinity : now - history.lastScaleUpAt;
    if (sinceUp < rule.reversalWindowMs) {
      return decision(current, 'reversal', `${winner.reason}; held at ${current}: scaled up ${seconds(sinceUp)} ago (reversal window ${seconds(rule.reversalWindowMs)})`);
    }
    // Recommendations made before the arrival rate moved to its new level are history.
    const changedAt = input.changedAt ?? -Infinity;
    const highestSince = (windowMs: number) =>
      Math.max(recommendation, ...history.recommendations.filter((entry) => entry.at > Math.max(now - windowMs, changedAt) && entry.at <= now).map((entry) => entry.replicas));
    const quick = highestSince(QUICK_FALL_WINDOW_MS);
    const bigFall = current - quick >= 2;
    const windowMs = bigFall ? QUICK_FALL_WINDOW_MS : policy.stabilizationWindowMs;
    const stabilized = bigFall ? quick : highestSince(policy.stabilizationWindowMs);
    const floor = input.rateWon && input.downFloor !== undefined ? Math.min(policy.maxReplicas, input.downFloor) : recommendation;
    if (floor > stabilized && floor >= current) {
      return decision(current, 'hysteresis', `${winner.reason}; held at ${current}: with ${DOWN_NOISE_HEADROOM} × noise the need rounds to ${floor}`);
    }
    const target = Math.max(stabilized, floor);
    if (target >= current) {
      return decision(current, 'stabilization', `${winner.reason}; held at ${current}: recommended ${target} within the last ${seconds(windowMs)}`);
    }
    // A new, lower level of arrivals, confirmed after the last scale, needs no further cooldown.
    const lastScaleAt = Math.max(history.lastScaleUpAt ?? -Infinity, history.lastScaleDownAt ?? -Infinity);
    if (cooldownRemainingMs.down > 0 && !(changedAt > lastScaleAt)) {
      return decision(current, 'cooldown', `${winner.reason}; scale-down waits ${seconds(cooldownRemainingMs.down)} more (scale_down_cooldown)`);
    }
    if (target > stabilized) {
      return decision(target, 'hysteresis', `${winner.reason}; down to ${target} only: with ${DOWN_NOISE_HEADROOM} × noise the need rounds to ${target}`);
    }
    if (target > recommendation) {
      return decision(target, 'stabilization', `${winner.reason}; down to ${target} only: recommended ${target} within the last ${seconds(windowMs)}`);
    }
    return decision(recommendation, winner.rule, winner.reason);
  }
  return decision(current, winner.rule, `${winner.reason}; already at ${current}`);
}

function backlogCandidate(rule: Exclude<BacklogRule, { kind: 'rate' }>, backlog: number, queue: QueueSample, current: number): Candidate {
  const detail = queue.unacked === undefined ? `backlog ${backlog}` : `backlog ${backlog} (ready ${queue.ready} + unacked ${queue.unacked})`;
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
  return { ...history, recommendations, ...(decision.rates ? { rates: decision.rates } : {}) };
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
