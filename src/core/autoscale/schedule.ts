/**
 * Time windows that raise a worker's minimum (KEDA's cron scaler): from 08:00 to 18:00 on
 * weekdays, at least 3 replicas. Pure: the time is passed in.
 */
export interface MinimumWindow {
  /** Minutes after midnight, local to `timeZone`; `to` may be below `from` (the window crosses midnight). */
  fromMinute: number;
  toMinute: number;
  /** Days of the week it starts on, 0 = Sunday; all when absent. */
  days?: ReadonlyArray<number>;
  minReplicas: number;
  /** IANA time zone, e.g. Europe/Berlin; UTC when absent. */
  timeZone?: string;
  /** As written, for messages: "mon-fri 08:00-18:00". */
  label: string;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The highest minimum of the windows open at `now`, with the window that sets it; undefined when none is open. */
export function scheduledMinimum(windows: ReadonlyArray<MinimumWindow>, now: number): { minReplicas: number; window: MinimumWindow } | undefined {
  let best: { minReplicas: number; window: MinimumWindow } | undefined;
  for (const window of windows) {
    if (!isOpen(window, now)) continue;
    if (!best || window.minReplicas > best.minReplicas) best = { minReplicas: window.minReplicas, window };
  }
  return best;
}

function isOpen(window: MinimumWindow, now: number): boolean {
  const { day, minute } = wallClock(now, window.timeZone);
  const crossesMidnight = window.toMinute <= window.fromMinute;
  // After midnight in a window that crossed it, the day it started on is the day before.
  const inLate = minute >= window.fromMinute && (crossesMidnight || minute < window.toMinute);
  const inEarly = crossesMidnight && minute < window.toMinute;
  const startDay = inLate ? day : inEarly ? (day + 6) % 7 : undefined;
  if (startDay === undefined) return false;
  return !window.days || window.days.includes(startDay);
}

function wallClock(now: number, timeZone = 'UTC'): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(now));
  const part = (type: string) => parts.find((entry) => entry.type === type)?.value ?? '';
  return { day: DAY_NAMES.indexOf(part('weekday').toLowerCase().slice(0, 3)), minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** "08:00" → 480; "24:00" is the end of the day. Undefined when malformed. */
export function parseClock(text: string): number | undefined {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return Number(match[2]) < 60 && minutes <= 24 * 60 ? minutes : undefined;
}

/** "mon-fri", "sat,sun", "mon,wed-fri" → day numbers; undefined when malformed. */
export function parseDays(text: string): number[] | undefined {
  const days = new Set<number>();
  for (const token of text.toLowerCase().split(',').map((entry) => entry.trim())) {
    const [first, last] = token.split('-').map((name) => DAY_NAMES.indexOf(name.slice(0, 3)));
    if (first === undefined || first < 0 || (token.includes('-') && (last === undefined || last < 0))) return undefined;
    const end = token.includes('-') ? last! : first;
    for (let day = first; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === end) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/** Whether Intl knows the time zone. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
