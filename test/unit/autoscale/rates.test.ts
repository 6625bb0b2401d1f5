import { describe, expect, it } from 'vitest';
import type { QueueSample } from '../../../src/core/autoscale/decide.js';
import { CHANGE_CONFIRM_MS, serviceRateOf, updateRates, type RateEstimate } from '../../../src/core/autoscale/rates.js';

const START = 1_700_000_000_000;

/** A clock that moves only when told to. */
class FakeClock {
  time = START;
  advance(ms: number) {
    this.time += ms;
  }
}

/** Feeds samples taken every `stepMs` on the clock; returns the estimate after each. */
function feed(clock: FakeClock, samples: Array<Omit<QueueSample, 'at'>>, stepMs = 2_000, knownServiceRate?: number, start?: RateEstimate): RateEstimate[] {
  let estimate = start;
  const estimates: RateEstimate[] = [];
  for (const sample of samples) {
    estimate = updateRates(estimate, { ...sample, at: clock.time }, knownServiceRate);
    estimates.push(estimate);
    clock.advance(stepMs);
  }
  return estimates;
}

describe('updateRates', () => {
  it('measures arrivals from queue-depth deltas plus acks when the broker gives no publish rate', () => {
    // 2 busy consumers ack 20/s; the backlog grows 10 per second: 30 tasks/s arrive.
    const clock = new FakeClock();
    const estimates = feed(clock, [
      { ready: 100, unacked: 2, consumers: 2, ackRate: 20 },
      { ready: 120, unacked: 2, consumers: 2, ackRate: 20 },
      { ready: 140, unacked: 2, consumers: 2, ackRate: 20 },
    ]);
    expect(estimates[0].arrivalSlow).toBeUndefined(); // one sample tells no delta
    expect(estimates[1]).toMatchObject({ arrivalLast: 30, arrivalSlow: 30, arrivalFast: 30, arrivalSource: 'depth-delta', arrivalByDepth: 30 });
    expect(estimates[2].arrivalLast).toBe(30);
    expect(serviceRateOf(estimates[2])).toBe(10); // 20 acks/s ÷ 2 busy consumers
  });

  it('over AMQP alone (no acks), takes the drained share as busy consumers × a known service rate, only while messages wait', () => {
    // Depth falls 5 per second with 3 consumers at 4/s each: 12 - 5 = 7 tasks/s arrive.
    const clock = new FakeClock();
    const estimates = feed(clock, [{ ready: 50, consumers: 3 }, { ready: 40, consumers: 3 }, { ready: 0, consumers: 3 }, { ready: 0, consumers: 3 }], 2_000, 4);
    expect(estimates[1]).toMatchObject({ arrivalLast: 7, arrivalSource: 'depth-delta' });
    // The queue ran empty: how much the consumers drained is unknown, so the estimate stays.
    expect(estimates[2].arrivalLast).toBe(7);
    expect(estimates[3].arrivalLast).toBe(7);
    expect(serviceRateOf(estimates[3])).toBeUndefined(); // without acks nothing is measured
  });

  it('counts as busy the consumers present over the whole interval, and the unacked ones when none wait', () => {
    const clock = new FakeClock();
    const estimates = feed(clock, [
      { ready: 80, unacked: 2, consumers: 2, ackRate: 20, publishRate: 30 },
      // 6 new consumers just joined: the 20 acks/s were made by the 2 that were there.
      { ready: 70, unacked: 8, consumers: 8, ackRate: 20, publishRate: 30 },
    ]);
    expect(serviceRateOf(estimates[1])).toBe(10);
    // Nothing waits: 3 tasks in progress (unacked) make 30 acks/s, whatever the 8 consumers.
    const idle = feed(clock, [{ ready: 0, unacked: 3, consumers: 8, ackRate: 30, publishRate: 30 }], 2_000, undefined, undefined);
    expect(serviceRateOf(idle[0])).toBe(10);
  });

  it('learns nothing from waiting messages the consumers could have run out of', () => {
    // 20 ready at the start, 30 acked in the 2 s: the queue may have run dry, the 4 consumers idled
    // part of the time, and 15/s ÷ 4 would understate a worker (and ask for ever more of them).
    const clock = new FakeClock();
    const estimates = feed(clock, [
      { ready: 20, unacked: 4, consumers: 4, ackRate: 15, publishRate: 15 },
      { ready: 20, unacked: 4, consumers: 4, ackRate: 15, publishRate: 15 },
    ]);
    expect(serviceRateOf(estimates[1])).toBeUndefined();
    // 100 ready at the start, 30 acked: they never ran dry, so 15/s ÷ 4 busy is what a worker does.
    const busy = feed(
      clock,
      [
        { ready: 100, unacked: 4, consumers: 4, ackRate: 15, publishRate: 65 },
        { ready: 100, unacked: 4, consumers: 4, ackRate: 15, publishRate: 15 },
      ],
      2_000,
      undefined,
      estimates[1],
    );
    expect(serviceRateOf(busy[0])).toBeUndefined(); // 20 were ready at its start
    expect(serviceRateOf(busy[1])).toBe(3.75);
  });

  it('smooths the arrival rate slowly (30 s) and quickly (4 s)', () => {
    const clock = new FakeClock();
    const [, second] = feed(clock, [
      { ready: 0, unacked: 1, consumers: 2, ackRate: 10, publishRate: 10 },
      { ready: 0, unacked: 1, consumers: 2, ackRate: 10, publishRate: 20 },
    ]);
    expect(second.arrivalSlow).toBeCloseTo(10 + 10 * (1 - Math.exp(-2 / 30)), 10);
    expect(second.arrivalFast).toBeCloseTo(10 + 10 * (1 - Math.exp(-2 / 4)), 10);
    expect(second.arrivalLast).toBe(20);
  });

  it('keeps the queue-depth rate beside a lagging publish rate', () => {
    const clock = new FakeClock();
    const [, second] = feed(clock, [
      { ready: 10, unacked: 2, consumers: 2, ackRate: 20, publishRate: 20 },
      { ready: 110, unacked: 2, consumers: 2, ackRate: 20, publishRate: 25 },
    ]);
    expect(second).toMatchObject({ arrivalLast: 25, arrivalByDepth: 70, arrivalSource: 'publish-rate' }); // 100 more in 2 s + 20/s acked
  });

  it('ignores a sample no newer than the last (re-read while a source is down)', () => {
    const first = updateRates(undefined, { ready: 5, unacked: 1, consumers: 1, ackRate: 10, publishRate: 10, at: START });
    expect(updateRates(first, { ready: 500, unacked: 1, consumers: 1, ackRate: 10, publishRate: 99, at: START })).toBe(first);
  });

  it('restarts the slow estimate once every rate of 20 s lies 25 % below it, at the highest of the newer half', () => {
    const clock = new FakeClock();
    const steady = Array.from({ length: 5 }, () => ({ ready: 0, unacked: 8, consumers: 8, ackRate: 80, publishRate: 80 }));
    // 30/s on the way down (older half, ignored), 12/s once in the newer half.
    const fallen = Array.from({ length: 11 }, (_, index) => ({ ready: 0, unacked: 1, consumers: 8, ackRate: 10, publishRate: index === 0 ? 30 : index === 8 ? 12 : 10 }));
    const estimates = feed(clock, [...steady, ...fallen]);
    const beforeConfirm = estimates[steady.length + 9]; // 18 s of low rates
    expect(beforeConfirm.arrivalSlow).toBeGreaterThan(40);
    expect(beforeConfirm.changedAt).toBeUndefined();
    const confirmed = estimates[steady.length + 10]; // 20 s
    expect(confirmed.arrivalSlow).toBe(12);
    expect(confirmed.changedAt).toBe(confirmed.at);
    expect(CHANGE_CONFIRM_MS).toBe(20_000);
  });

  it('does not take ±30 % noise for a change', () => {
    const clock = new FakeClock();
    // Alternating 39 and 73 tasks/s around 56: never ten in a row beyond 25 %.
    const noisy = Array.from({ length: 60 }, (_, index) => ({ ready: 0, unacked: 6, consumers: 6, ackRate: 56, publishRate: index % 2 ? 39 : 73 }));
    const estimates = feed(clock, noisy);
    expect(estimates.every((estimate) => estimate.changedAt === undefined)).toBe(true);
    expect(estimates.at(-1)!.arrivalSlow).toBeGreaterThan(50);
    expect(estimates.at(-1)!.arrivalSlow).toBeLessThan(62);
  });
});
