import type { QueueSample } from './decide.js';

/**
 * What the autoscaler has learnt about a queue's flow from successive samples: the arrival rate
 * (smoothed twice: slowly, to ride out noise, and quickly, to follow real changes) and one
 * worker's service rate. Pure: each sample gives a new estimate.
 */
export interface RateEstimate {
  /** When the sample behind it was taken, ms. */
  at: number;
  /** ready + unacked at that sample. */
  backlog: number;
  ready: number;
  consumers: number;
  /** Arrival rate, tasks/s, smoothed over RATE_TIME_CONSTANTS.slowMs. */
  arrivalSlow?: number;
  /** Variance of the unsmoothed arrival rates around the slow estimate, (tasks/s)², smoothed alike: the noise. */
  arrivalVariance?: number;
  /** Arrival rate, tasks/s, smoothed over RATE_TIME_CONSTANTS.fastMs. */
  arrivalFast?: number;
  /** The last unsmoothed arrival rate, tasks/s. */
  arrivalLast?: number;
  /**
   * The last arrival rate told by the queue itself: the change of its depth plus the acks. Current
   * where the management API's publish rate lags it by seconds; noisier, so it only counts while
   * the fleet is behind (decide.ts).
   */
  arrivalByDepth?: number;
  /** Acks per second and busy consumers, both smoothed alike: their ratio is one worker's service rate. */
  ackRate?: number;
  busyWorkers?: number;
  /** Where the arrival rate came from: the management API's publish rate, or queue-depth deltas. */
  arrivalSource?: 'publish-rate' | 'depth-delta';
  /** Unsmoothed arrival rates of the last CHANGE_CONFIRM_MS, oldest first. */
  recentArrivals?: ReadonlyArray<{ at: number; rate: number }>;
  /** When the arrival rate last moved to a new level (see updateRates), ms. */
  changedAt?: number;
  /** Since when messages have waited (ready > 0) at every sample; absent while none wait. */
  waitingSince?: number;
}


export const RATE_TIME_CONSTANTS = {
  /** Long enough that ±30 % noise per second moves the estimate by about 1 %. */
  slowMs: 30_000,
  /** Two polls at the default interval: a step change shows within one poll. */
  fastMs: 4_000,
  /** The service rate changes with the work, not with the traffic: smoothed longest. */
  serviceMs: 60_000,
} as const;

/** Every arrival rate of this long lying beyond RATE_CHANGE of the slow estimate is a new level, not noise. */
export const CHANGE_CONFIRM_MS = 20_000;
/** Relative distance from the slow estimate that counts as a change. */
export const RATE_CHANGE = 0.25;

/**
 * The estimate after one more sample. A sample no newer than the last one (the same, re-read
 * while a source is down) changes nothing.
 *
 * - Arrival rate: the management API's publish rate; without it, the change of the backlog plus
 *   the acks (ack rate, or busy consumers × service rate while the queue is never empty).
 * - Service rate: acks ÷ busy consumers. The consumers were busy throughout an interval when more
 *   messages were ready at its start than were acked in it (the queue never ran dry). With none
 *   ready, the unacked messages are the ones being worked on (Little's law), so the busy count is
 *   min(consumers, unacked). Anything in between tells nothing: a snapshot of waiting messages
 *   says nothing of how busy the consumers were since the last one, and taking it for saturation
 *   would underestimate the service rate, ask for more workers, and feed on itself. Without an
 *   ack rate nothing is learnt.
 */
export function updateRates(previous: RateEstimate | undefined, sample: QueueSample, knownServiceRate?: number): RateEstimate {
  const backlog = sample.ready + (sample.unacked ?? 0);
  const waitingSince = sample.ready > 0 ? (previous?.waitingSince ?? sample.at) : undefined;
  const base: RateEstimate = { ...previous, at: sample.at, backlog, ready: sample.ready, consumers: sample.consumers, waitingSince };
  if (waitingSince === undefined) delete base.waitingSince;
  if (!previous) {
    // The first sample: rates the broker reports directly are usable already.
    const service = serviceSample(sample, sample.consumers, undefined);
    const first = service ? { ...base, ackRate: service.acks, busyWorkers: service.busy } : base;
    return sample.publishRate === undefined ? first : seedArrival({ ...first, arrivalSource: 'publish-rate' }, sample.publishRate);
  }
  const dtMs = sample.at - previous.at;
  if (dtMs <= 0) return previous;
  const dtS = dtMs / 1000;

  // The acks were made by the consumers there were over the interval: ones that just joined made none.
  const service = serviceSample(sample, Math.min(sample.consumers, previous.consumers), previous.ready / dtS);
  let ackRate = previous.ackRate;
  let busyWorkers = previous.busyWorkers;
  if (service) {
    const weight = weightOf(dtMs, RATE_TIME_CONSTANTS.serviceMs);
    ackRate = ackRate === undefined ? service.acks : ackRate + weight * (service.acks - ackRate);
    busyWorkers = busyWorkers === undefined ? service.busy : busyWorkers + weight * (service.busy - busyWorkers);
  }
  const serviceRate = serviceRateOf({ ackRate, busyWorkers }) ?? knownServiceRate;

  const byDepth = sample.ackRate === undefined ? undefined : Math.max(0, (backlog - previous.backlog) / dtS + sample.ackRate);
  let arrival: number | undefined;
  let arrivalSource: RateEstimate['arrivalSource'];
  if (sample.publishRate !== undefined) {
    arrival = sample.publishRate;
    arrivalSource = 'publish-rate';
  } else {
    const drained = sample.ackRate ?? (previous.ready > 0 && sample.ready > 0 && serviceRate !== undefined ? sample.consumers * serviceRate : undefined);
    if (drained !== undefined) {
      arrival = Math.max(0, (backlog - previous.backlog) / dtS + drained);
      arrivalSource = 'depth-delta';
    }
  }
  const next: RateEstimate = { ...base, ackRate, busyWorkers, ...(byDepth !== undefined ? { arrivalByDepth: byDepth } : {}) };
  if (arrival === undefined) return next;
  if (previous.arrivalSlow === undefined || previous.arrivalFast === undefined) return seedArrival({ ...next, arrivalSource }, arrival);
  const recentArrivals = [...(previous.recentArrivals ?? []), { at: sample.at, rate: arrival }].filter((entry) => entry.at >= sample.at - CHANGE_CONFIRM_MS);
  const slowWeight = weightOf(dtMs, RATE_TIME_CONSTANTS.slowMs);
  const deviation = arrival - previous.arrivalSlow;
  // A step to a new level is no noise: beyond RATE_CHANGE, a deviation counts only up to it.
  const noiseBound = RATE_CHANGE * Math.max(previous.arrivalSlow, 1);
  const noise = Math.max(-noiseBound, Math.min(noiseBound, deviation));
  const updated: RateEstimate = {
    ...next,
    arrivalSource,
    arrivalLast: arrival,
    arrivalSlow: previous.arrivalSlow + slowWeight * deviation,
    arrivalVariance: (1 - slowWeight) * ((previous.arrivalVariance ?? 0) + slowWeight * noise * noise),
    arrivalFast: previous.arrivalFast + weightOf(dtMs, RATE_TIME_CONSTANTS.fastMs) * (arrival - previous.arrivalFast),
    recentArrivals,
  };
  return confirmChange(updated, sample.at);
}

/**
 * A change point: when every arrival rate of the last CHANGE_CONFIRM_MS lies more than
 * RATE_CHANGE below (above) the slow estimate, the rate moved to a new level, and the slow
 * estimate, which would take minutes to follow, restarts at the highest (lowest) of the newer
 * half of them — the cautious end. Noise does not do that: ±30 % noise would need ten draws in a row beyond 25 %.
 */
function confirmChange(estimate: RateEstimate, now: number): RateEstimate {
  const recent = estimate.recentArrivals ?? [];
  const slow = estimate.arrivalSlow;
  if (slow === undefined || recent.length < 3 || now - recent[0].at < CHANGE_CONFIRM_MS * 0.9) return estimate;
  const rates = recent.map((entry) => entry.rate);
  // The new level is read from the newer half: the management API's rates take a few seconds to
  // move, and the older ones still carry the way there. Its noise is measured afresh.
  const settled = rates.slice(Math.floor(rates.length / 2));
  const mean = settled.reduce((sum, rate) => sum + rate, 0) / settled.length;
  const arrivalVariance = settled.reduce((sum, rate) => sum + (rate - mean) ** 2, 0) / settled.length;
  if (rates.every((rate) => rate < slow * (1 - RATE_CHANGE))) return { ...estimate, arrivalSlow: Math.max(...settled), arrivalVariance, changedAt: now };
  if (rates.every((rate) => rate > slow * (1 + RATE_CHANGE))) return { ...estimate, arrivalSlow: Math.min(...settled), arrivalVariance, changedAt: now };
  return estimate;
}

/** One worker's service rate, tasks/s, once anything was acked by a busy worker. */
export function serviceRateOf(estimate: Pick<RateEstimate, 'ackRate' | 'busyWorkers'>): number | undefined {
  const { ackRate, busyWorkers } = estimate;
  if (ackRate === undefined || busyWorkers === undefined || !(busyWorkers > 0) || !(ackRate > 0)) return undefined;
  return ackRate / busyWorkers;
}

function seedArrival(estimate: RateEstimate, arrival: number): RateEstimate {
  return { ...estimate, arrivalLast: arrival, arrivalSlow: arrival, arrivalVariance: 0, arrivalFast: arrival, recentArrivals: [{ at: estimate.at, rate: arrival }] };
}

/** Acks/s and the busy consumers that made them, when this sample tells both. */
function serviceSample(sample: QueueSample, consumers: number, readyAtStartPerS: number | undefined): { acks: number; busy: number } | undefined {
  if (sample.ackRate === undefined || !(sample.ackRate > 0) || consumers <= 0) return undefined;
  if (readyAtStartPerS !== undefined && sample.ready > 0 && readyAtStartPerS > sample.ackRate) return { acks: sample.ackRate, busy: consumers };
  if (sample.ready > 0 || sample.unacked === undefined) return undefined;
  const busy = Math.min(consumers, sample.unacked);
  return busy > 0 ? { acks: sample.ackRate, busy } : undefined;
}

/** The exponential smoothing weight of a sample dt after the last, for time constant tau. */
function weightOf(dtMs: number, tauMs: number): number {
  return 1 - Math.exp(-dtMs / tauMs);
}
