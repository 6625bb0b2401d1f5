import { interpolate, type Environment } from './interpolate.js';

/** A line of a .env / env_file that Compose would refuse too; `line` is 1-based. */
export class EnvFileError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'EnvFileError';
  }
}

const KEY = /^[A-Za-z0-9_.]+$/;

/**
 * Parses a .env or env_file by Compose's documented rules:
 * - blank lines and lines starting with # are skipped; an `export ` prefix is allowed;
 * - `KEY=value`: unquoted values end at the line's end or at a # preceded by whitespace, trimmed;
 * - `KEY='value'`: taken literally (only \' is unescaped), may span lines;
 * - `KEY="value"`: \n, \r, \t, \\, \" and \$ are unescaped, may span lines;
 * - unquoted and double-quoted values interpolate ${VAR} (earlier keys of the file, then `env`);
 * - a comment may follow a closing quote; a bare `KEY` takes its value from `env`, if set there.
 */
export function parseEnvFile(text: string, env: Environment = {}): Record<string, string> {
  const result: Record<string, string> = {};
  const resolve: Environment = new Proxy({}, { get: (_target, name: string) => env[name] ?? result[name] });
  let index = 0;
  let line = 1;
  const advance = (to: number) => {
    for (let i = index; i < to; i++) if (text[i] === '\n') line++;
    index = to;
  };

  while (index < text.length) {
    // Leading whitespace and blank lines.
    const start = text.slice(index).search(/\S/);
    if (start === -1) break;
    advance(index + start);
    if (text[index] === '#') {
      const newline = text.indexOf('\n', index);
      advance(newline === -1 ? text.length : newline);
      continue;
    }
    const lineEnd = text.indexOf('\n', index) === -1 ? text.length : text.indexOf('\n', index);
    const statement = text.slice(index, lineEnd).replace(/^export\s+/, '');
    const statementOffset = lineEnd - index - statement.length;
    const eq = statement.indexOf('=');
    const key = (eq === -1 ? statement : statement.slice(0, eq)).trim();
    if (!KEY.test(key)) {
      const bad = [...key].find((char) => !/[A-Za-z0-9_.]/.test(char));
      throw new EnvFileError(bad === undefined ? 'a line without a variable name' : /\s/.test(bad) ? `variable name "${key}" cannot contain a space` : `unexpected character "${bad}" in variable name "${key}"`, line);
    }
    if (eq === -1) {
      // `KEY` alone: inherited from the environment, skipped when unset there.
      if (env[key] !== undefined) result[key] = env[key] as string;
      advance(lineEnd);
      continue;
    }
    let valueStart = index + statementOffset + eq + 1;
    while (valueStart < lineEnd && /[ \t]/.test(text[valueStart])) valueStart++;
    const quote = text[valueStart];
    if (quote === '"' || quote === "'") {
      const close = closingQuote(text, valueStart + 1, quote);
      if (close === -1) throw new EnvFileError(`unterminated quoted value for ${key}`, line);
      const raw = text.slice(valueStart + 1, close);
      result[key] = quote === "'" ? raw.replaceAll("\\'", "'") : interpolateEscaped(raw, resolve);
      advance(close + 1);
      const after = text.indexOf('\n', index) === -1 ? text.length : text.indexOf('\n', index);
      const trailing = text.slice(index, after).trim();
      if (trailing && !trailing.startsWith('#')) throw new EnvFileError(`unexpected "${trailing}" after the closing quote of ${key}`, line);
      advance(after);
      continue;
    }
    const raw = text.slice(valueStart, lineEnd).replace(/(^|\s)#.*$/, '').trim();
    result[key] = interpolate(raw, resolve);
    advance(lineEnd);
  }
  return result;
}

function closingQuote(text: string, from: number, quote: string): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };

/** A double-quoted value: escapes first, then interpolation; \$ stays a literal dollar sign. */
function interpolateEscaped(raw: string, env: Environment): string {
  let result = '';
  let pending = '';
  const flush = () => {
    result += interpolate(pending, env);
    pending = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i];
    if (char === '\\' && i + 1 < raw.length) {
      const next = raw[++i];
      if (next === '$') {
        flush();
        result += '$';
      } else pending += ESCAPES[next] ?? `\\${next}`;
    } else pending += char;
  }
  flush();
  return result;
}
