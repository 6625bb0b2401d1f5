import { maskUrlPasswords } from './secrets.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void> & {
  /** Whether lines at this level are written: lets a hot path skip building their fields. */
  enabled(level: LogLevel): boolean;
};

/** One JSON object per line; warnings and errors to stderr. Passwords in URLs never leave. */
export function createLogger(
  level: LogLevel,
  fields: Record<string, unknown>,
  write: { out(line: string): void; err(line: string): void },
  now: () => number = Date.now,
): Logger {
  const emit = (at: LogLevel) => (msg: string, extra: Record<string, unknown> = {}) => {
    if (RANK[at] < RANK[level]) return;
    const line = maskUrlPasswords(JSON.stringify({ time: new Date(now()).toISOString(), level: at, msg, ...fields, ...extra }));
    if (RANK[at] >= RANK.warn) write.err(line);
    else write.out(line);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), enabled: (at) => RANK[at] >= RANK[level] };
}
