import type { CustomMetricSpec } from './policy.js';

/** What a GET of the metric's URL answered. */
export interface MetricResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Fetches a URL; injected so tests need no server. */
export type MetricFetcher = (url: string, signal: AbortSignal) => Promise<MetricResponse>;

/** Longer than any sane metrics endpoint takes; shorter than a poll interval or two. */
export const CUSTOM_METRIC_TIMEOUT_MS = 3_000;

/** The global fetch (Node 18+), with a timeout beside the caller's signal. */
export const globalFetcher: MetricFetcher = async (url, signal) => {
  const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(CUSTOM_METRIC_TIMEOUT_MS)]), headers: { accept: 'application/json, text/plain;q=0.9' } });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
};

/**
 * Reads the custom metric's value: fetches the URL and picks the value out of a Prometheus text
 * exposition or a JSON document (content type, else the body's first character, tells which).
 * Throws an Error naming the URL and what was wrong; the caller keeps the last good value, which
 * grows stale.
 */
export async function readCustomMetric(spec: CustomMetricSpec, fetcher: MetricFetcher, signal: AbortSignal): Promise<number> {
  const where = `${maskPassword(spec.url)}${spec.path ? ` (${spec.path})` : ''}`;
  const response = await fetcher(spec.url, signal);
  if (response.status < 200 || response.status >= 300) throw new Error(`custom metric ${where}: HTTP ${response.status}`);
  // Prometheus lines start with a metric name or '#'; JSON with '{', '[' or a number.
  const json = /json/i.test(response.contentType) || /^\s*[[{\d-]/.test(response.body);
  const value = json ? valueFromJson(response.body, spec.path) : valueFromPrometheus(response.body, spec.path);
  if (typeof value === 'string') throw new Error(`custom metric ${where}: ${value}`);
  return value;
}

/** A number at a dotted path (`a.b.0.c`) of a JSON document; the whole document without a path. Strings holding numbers count. */
export function valueFromJson(body: string, path: string | undefined): number | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the body is not valid JSON';
  }
  for (const key of path ? path.split('.') : []) {
    if (value === null || typeof value !== 'object' || !(key in (value as object))) return `no "${key}" at path ${path}`;
    value = (value as Record<string, unknown>)[key];
  }
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : `${path ? `path ${path}` : 'the document'} is ${JSON.stringify(value)?.slice(0, 40)}, not a number`;
}

/**
 * The sum of the samples of a Prometheus text exposition whose name is `selector`'s and whose
 * labels include every label it names (`name{queue="a"}`); without a selector, the only sample.
 */
export function valueFromPrometheus(body: string, selector: string | undefined): number | string {
  const wanted = selector === undefined ? undefined : parseSample(`${selector} 0`);
  if (selector !== undefined && !wanted) return `"${selector}" is not a metric name with optional {label="value"} pairs`;
  const samples = body
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map(parseSample)
    .filter((sample) => sample !== undefined);
  if (!wanted) {
    if (samples.length !== 1) return `${samples.length} samples and no path to choose one (set custom_metric.path to a metric name)`;
    return samples[0].value;
  }
  const matching = samples.filter((sample) => sample.name === wanted.name && Object.entries(wanted.labels).every(([key, value]) => sample.labels[key] === value));
  if (matching.length === 0) return `no sample ${selector}`;
  const total = matching.reduce((sum, sample) => sum + sample.value, 0);
  return Number.isFinite(total) ? total : `${selector} is not a finite number`;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseSample(line: string): Sample | undefined {
  const match = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
  if (!match) return undefined;
  const labels: Record<string, string> = {};
  const labelText = match[2] ?? '';
  const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let consumed = 0;
  for (let found = pair.exec(labelText); found; found = pair.exec(labelText)) {
    labels[found[1]] = found[2].replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char));
    consumed = pair.lastIndex;
  }
  if (labelText.slice(consumed).trim() !== '') return undefined;
  const value = Number(match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : match[3]);
  return Number.isNaN(value) ? undefined : { name: match[1], labels, value };
}

function maskPassword(url: string): string {
  return url.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
}
