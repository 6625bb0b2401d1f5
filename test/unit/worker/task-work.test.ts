import { describe, expect, it } from 'vitest';
import { parseWorkMs, performWork, pickDurationMs, planWork, SimulatedCrash, SimulatedFailure } from '../../../templates/worker/src/task-work.js';

describe('parseWorkMs', () => {
  it.each([
    ['100', 100],
    ['0', 0],
    [' 50-200 ', { min: 50, max: 200 }],
    ['50 - 200', { min: 50, max: 200 }],
    ['200-200', { min: 200, max: 200 }],
    ['200-50', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['100ms', undefined],
    ['', undefined],
  ])('%j → %j', (text, expected) => {
    expect(parseWorkMs(text)).toEqual(expected);
  });
});

describe('planWork', () => {
  const defaults = { workMs: 100, cpu: false, failRate: 0, crashRate: 0 };

  it('takes the message fields over the environment defaults', () => {
    expect(planWork({ id: 't', sentAt: 0, workMs: { min: 5, max: 9 }, cpu: true, failRate: 0.5, crashRate: 0.1 }, defaults)).toEqual({ workMs: { min: 5, max: 9 }, cpu: true, failRate: 0.5, crashRate: 0.1 });
  });

  it('falls back to the defaults for missing fields', () => {
    expect(planWork({ id: 't', sentAt: 0 }, defaults)).toEqual(defaults);
    expect(planWork({ id: 't', sentAt: 0, workMs: null as unknown as number }, defaults)).toEqual(defaults);
  });

  it.each([
    [{ workMs: -1 }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): -1'],
    [{ workMs: Number.NaN }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): null'],
    [{ workMs: 86_400_001 }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): 86400001'],
    [{ workMs: { min: 9, max: 5 } }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): {"min":9,"max":5}'],
    [{ workMs: { min: 0, max: 1e12 } }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): {"min":0,"max":1000000000000}'],
    [{ workMs: '100' }, 'workMs out of range (expected 0..86400000 ms or {min ≤ max}): "100"'],
    [{ failRate: 2 }, 'failRate is not a probability: 2'],
    [{ crashRate: -0.5 }, 'crashRate is not a probability: -0.5'],
    [{ cpu: 'yes' }, 'cpu is not true or false: "yes"'],
  ])('calls %j malformed', (fields, reason) => {
    expect(planWork({ id: 't', sentAt: 0, ...(fields as object) }, defaults)).toBe(reason);
  });
});

describe('pickDurationMs', () => {
  it('is fixed for a number and uniform in min..max for a range', () => {
    expect(pickDurationMs(70, () => 0.9)).toBe(70);
    expect(pickDurationMs({ min: 50, max: 150 }, () => 0)).toBe(50);
    expect(pickDurationMs({ min: 50, max: 150 }, () => 0.5)).toBe(100);
    expect(pickDurationMs({ min: 50, max: 150 }, () => 0.999)).toBe(150);
  });
});

describe('performWork', () => {
  const recorder = (randoms: number[]) => {
    const calls: string[] = [];
    return {
      calls,
      environment: {
        sleep: async (ms: number) => void calls.push(`sleep ${ms}`),
        burnCpu: (ms: number) => void calls.push(`cpu ${ms}`),
        random: () => randoms.shift() ?? 0,
        crash: () => void calls.push('crash'),
      },
    };
  };

  it('sleeps, or burns CPU in cpu mode, for the picked duration', async () => {
    const sleeping = recorder([0.5]);
    await performWork({ workMs: { min: 0, max: 100 }, cpu: false, failRate: 0, crashRate: 0 }, sleeping.environment);
    expect(sleeping.calls).toEqual(['sleep 50']);
    const burning = recorder([]);
    await performWork({ workMs: 30, cpu: true, failRate: 0, crashRate: 0 }, burning.environment);
    expect(burning.calls).toEqual(['cpu 30']);
  });

  it('neither sleeps nor burns CPU for 0 ms, and still fails by the draw', async () => {
    const noop = recorder([0.5]);
    await performWork({ workMs: 0, cpu: false, failRate: 0, crashRate: 0 }, noop.environment);
    await performWork({ workMs: { min: 0, max: 0 }, cpu: true, failRate: 0, crashRate: 0 }, noop.environment);
    expect(noop.calls).toEqual([]);
    await expect(performWork({ workMs: 0, cpu: false, failRate: 0.5, crashRate: 0 }, recorder([0.1]).environment)).rejects.toThrow(SimulatedFailure);
  });

  it('fails after the work when the draw is below failRate', async () => {
    const failing = recorder([0.2]);
    await expect(performWork({ workMs: 10, cpu: false, failRate: 0.25, crashRate: 0 }, failing.environment)).rejects.toThrow(new SimulatedFailure('simulated failure (failRate 0.25)'));
    expect(failing.calls).toEqual(['sleep 10']);
    await expect(performWork({ workMs: 10, cpu: false, failRate: 0.25, crashRate: 0 }, recorder([0.25]).environment)).resolves.toBeUndefined();
  });

  it('crashes the process at the end of its work when the draw is below crashRate, working at least a tick', async () => {
    const crashing = recorder([0.05]);
    await expect(performWork({ workMs: 10, cpu: false, failRate: 0, crashRate: 0.1 }, crashing.environment)).rejects.toThrow(SimulatedCrash);
    expect(crashing.calls).toEqual(['sleep 10', 'crash']);
    const instant = recorder([0.05]);
    await expect(performWork({ workMs: 0, cpu: false, failRate: 0, crashRate: 0.1 }, instant.environment)).rejects.toThrow(SimulatedCrash);
    expect(instant.calls).toEqual(['sleep 1', 'crash']);
    const lucky = recorder([0.1, 0.5]);
    await performWork({ workMs: 10, cpu: false, failRate: 0, crashRate: 0.1 }, lucky.environment);
    expect(lucky.calls).toEqual(['sleep 10']);
  });
});
