import { describe, expect, it } from 'vitest';
import { readCustomMetric, valueFromJson, valueFromPrometheus, type MetricFetcher, type MetricResponse } from '../../../src/core/autoscale/custom-metric.js';

const PROMETHEUS = `# HELP jobs_waiting Jobs waiting per queue
# TYPE jobs_waiting gauge
jobs_waiting{queue="a",zone="x"} 120
jobs_waiting{queue="a",zone="y"} 30
jobs_waiting{queue="b"} 7.5
jobs_done_total 1e3
`;

describe('custom metric values', () => {
  it.each([
    ['a name sums its samples', 'jobs_waiting', 157.5],
    ['labels pick the matching samples', 'jobs_waiting{queue="a"}', 150],
    ['every label must match', 'jobs_waiting{queue="a",zone="y"}', 30],
    ['exponent notation', 'jobs_done_total', 1000],
  ])('Prometheus: %s', (_name, selector, expected) => {
    expect(valueFromPrometheus(PROMETHEUS, selector)).toBe(expected);
  });

  it.each([
    ['no sample', 'jobs_gone', 'no sample jobs_gone'],
    ['no path among several samples', undefined, '4 samples and no path to choose one (set custom_metric.path to a metric name)'],
    ['a selector that is no metric name', 'jobs waiting', '"jobs waiting" is not a metric name with optional {label="value"} pairs'],
  ])('Prometheus: %s is an error', (_name, selector, message) => {
    expect(valueFromPrometheus(PROMETHEUS, selector)).toBe(message);
  });

  it.each([
    ['a dotted path', '{"stats":{"backlog":42}}', 'stats.backlog', 42],
    ['an array index', '{"items":[{"n":1},{"n":"2.5"}]}', 'items.1.n', 2.5],
    ['the whole document', '17', undefined, 17],
  ])('JSON: %s', (_name, body, path, expected) => {
    expect(valueFromJson(body, path)).toBe(expected);
  });

  it.each([
    ['a missing key', '{"stats":{}}', 'stats.backlog', 'no "backlog" at path stats.backlog'],
    ['no number', '{"stats":{"backlog":"many"}}', 'stats.backlog', 'path stats.backlog is "many", not a number'],
    ['broken JSON', '{"stats":', 'stats', 'the body is not valid JSON'],
  ])('JSON: %s is an error', (_name, body, path, message) => {
    expect(valueFromJson(body, path)).toBe(message);
  });
});

describe('readCustomMetric with an injected fetcher', () => {
  const signal = new AbortController().signal;
  const serving = (response: Partial<MetricResponse>): { fetcher: MetricFetcher; urls: string[] } => {
    const urls: string[] = [];
    return { urls, fetcher: async (url) => (urls.push(url), { status: 200, contentType: 'text/plain; version=0.0.4', body: '', ...response }) };
  };

  it('reads Prometheus text by its content', async () => {
    const { fetcher, urls } = serving({ body: PROMETHEUS });
    expect(await readCustomMetric({ url: 'http://127.0.0.1:9100/metrics', target: 10, path: 'jobs_waiting{queue="b"}' }, fetcher, signal)).toBe(7.5);
    expect(urls).toEqual(['http://127.0.0.1:9100/metrics']);
  });

  it('reads JSON by its content type or first character', async () => {
    expect(await readCustomMetric({ url: 'http://127.0.0.1:1/s', target: 1, path: 'a' }, serving({ contentType: 'application/json', body: '{"a":3}' }).fetcher, signal)).toBe(3);
    expect(await readCustomMetric({ url: 'http://127.0.0.1:1/s', target: 1, path: 'a' }, serving({ contentType: '', body: ' {"a":4}' }).fetcher, signal)).toBe(4);
  });

  it('names the URL (password masked) and the problem', async () => {
    const url = 'http://user:secret@127.0.0.1:1/m';
    await expect(readCustomMetric({ url, target: 1 }, serving({ status: 503 }).fetcher, signal)).rejects.toThrow('custom metric http://user:***@127.0.0.1:1/m: HTTP 503');
    await expect(readCustomMetric({ url, target: 1, path: 'x' }, serving({ body: PROMETHEUS }).fetcher, signal)).rejects.toThrow('custom metric http://user:***@127.0.0.1:1/m (x): no sample x');
  });
});
