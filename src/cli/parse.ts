import { parseDurationMs } from '../core/duration.js';
import { usageError } from '../core/errors.js';

/** A replica count argument: a whole number ≥ 0. */
export function parseCount(text: string, where: string): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`${where}: "${text}" is not a whole number ≥ 0`);
  const count = Number(text);
  if (!Number.isSafeInteger(count)) throw usageError(`${where}: "${text}" is too large`);
  return count;
}

/** A --timeout style option in seconds ("30", "30s", "1m"). */
export function parseSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw usageError(`${flag}: "${text}" is not a duration (examples: 30, 30s, 1m)`);
  return Math.ceil(ms / 1000);
}

export function parseIntervalMs(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw usageError(`${flag}: "${text}" is not a positive duration (examples: 2s, 500ms)`);
  return ms;
}
