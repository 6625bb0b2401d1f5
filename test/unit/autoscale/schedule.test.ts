import { describe, expect, it } from 'vitest';
import { parseClock, parseDays, scheduledMinimum, type MinimumWindow } from '../../../src/core/autoscale/schedule.js';

// Tuesday 2023-11-14, 22:13:20 UTC (Wednesday 07:13 in Tokyo).
const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

const window = (from: string, to: string, minReplicas: number, extra: Partial<MinimumWindow> = {}): MinimumWindow => ({
  fromMinute: parseClock(from)!,
  toMinute: parseClock(to)!,
  minReplicas,
  label: `${from}-${to}`,
  ...extra,
});

describe('scheduledMinimum', () => {
  it.each([
    ['open: 22:00-23:00 UTC at 22:13', [window('22:00', '23:00', 3)], 3],
    ['closed: 08:00-18:00 UTC at 22:13', [window('08:00', '18:00', 3)], undefined],
    ['the end is not in the window: 20:00-22:13', [window('20:00', '22:13', 3)], undefined],
    ['across midnight: 21:00-06:00', [window('21:00', '06:00', 2)], 2],
    ['the highest of the open windows wins', [window('00:00', '24:00', 2), window('22:00', '23:00', 5), window('08:00', '09:00', 9)], 5],
    ['days: tuesday is in mon-fri', [window('22:00', '23:00', 3, { days: parseDays('mon-fri') })], 3],
    ['days: tuesday is not in sat,sun', [window('22:00', '23:00', 3, { days: parseDays('sat,sun') })], undefined],
    ['time zone: 07:13 Wednesday in Tokyo is within 07:00-08:00', [window('07:00', '08:00', 4, { timeZone: 'Asia/Tokyo', days: parseDays('wed') })], 4],
  ] as const)('%s', (_name, windows, expected) => {
    expect(scheduledMinimum(windows, NOW)?.minReplicas).toBe(expected);
  });

  it('counts a window that crossed midnight by the day it started', () => {
    // Friday 22:00 to 06:00: open early on Saturday, not early on Friday.
    const fridayNight = window('22:00', '06:00', 2, { days: parseDays('fri') });
    const saturday2am = Date.UTC(2023, 10, 18, 2, 0);
    const friday2am = Date.UTC(2023, 10, 17, 2, 0);
    expect(scheduledMinimum([fridayNight], saturday2am)?.minReplicas).toBe(2);
    expect(scheduledMinimum([fridayNight], friday2am)).toBeUndefined();
    expect(scheduledMinimum([fridayNight], friday2am + 21 * HOUR)?.minReplicas).toBe(2); // Friday 23:00
  });
});

describe('parsing', () => {
  it.each([
    ['08:00', 480],
    ['8:05', 485],
    ['24:00', 1440],
    ['24:01', undefined],
    ['12:60', undefined],
    ['noon', undefined],
  ])('clock %j → %j', (text, minutes) => {
    expect(parseClock(text)).toBe(minutes);
  });

  it.each([
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['sat,sun', [0, 6]],
    ['fri-mon', [0, 1, 5, 6]],
    ['Monday,wed-thu', [1, 3, 4]],
    ['someday', undefined],
    ['mon-', undefined],
  ])('days %j → %j', (text, days) => {
    expect(parseDays(text)).toEqual(days);
  });
});
