import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { main } from '../../../src/cli/main.js';
import { BacklogHistory, fitLines, sparkline, truncateVisible } from '../../../src/cli/render/watch-frame.js';
import type { FleetStatus } from '../../../src/core/fleet/collect-status.js';
import type { QueueStats } from '../../../src/core/ports/broker.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { CapturedStream, FakeBrokerAdmin, testDependencies } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

const ESC = '\x1b';
const visible = (line: string) => [...line.replace(/\x1b\[[0-9;]*m/g, '')].length;

describe('truncateVisible and fitLines', () => {
  it('cuts to the visible width, ignoring colour codes, and resets colour when it cuts', () => {
    expect(truncateVisible('abcdef', 4)).toBe('abc…');
    expect(truncateVisible('abcd', 4)).toBe('abcd');
    expect(truncateVisible(`${ESC}[32mabcdef${ESC}[39m`, 4)).toBe(`${ESC}[32mabc…${ESC}[0m`);
    expect(truncateVisible(`${ESC}[1mab${ESC}[22m`, 4)).toBe(`${ESC}[1mab${ESC}[22m`);
    expect(truncateVisible('worker-a: 0 → 3 ✔', 12)).toBe('worker-a: 0…');
  });

  it('keeps every line one column short of the width, so none wraps', () => {
    const lines = fitLines(`${'x'.repeat(80)}\nshort\n${'y'.repeat(49)}`, 50);
    expect(lines.map(visible)).toEqual([49, 5, 49]);
  });
});

describe('sparkline and BacklogHistory', () => {
  it('scales from zero to the largest sample', () => {
    expect(sparkline([0, 0, 0])).toBe('▁▁▁');
    expect(sparkline([0, 50, 100])).toBe('▁▅█');
    expect(sparkline([7])).toBe('█');
  });

  it('keeps the last 20 backlog samples per queue and skips queues the broker did not answer for', () => {
    const history = new BacklogHistory();
    const status = (ready: number | null): FleetStatus => ({
      project: 'demo',
      backend: 'compose',
      services: [
        { service: 'worker-a', queue: 'task_a', running: 1, desired: 1, min: 0, max: 5, healthy: 1, unhealthy: 0, broker: ready === null ? null : { queue: 'task_a', ready, consumers: 1 }, quarantined: 0, deadLettered: 0 },
        { service: 'worker-b', queue: 'task_b', running: 1, desired: 1, min: 0, max: 5, healthy: 1, unhealthy: 0, broker: null, quarantined: null, deadLettered: null },
      ],
      broker: { endpoint: 'amqp://127.0.0.1', reachable: true, notes: [] },
      warnings: [],
    });
    for (let ready = 0; ready < 25; ready++) history.record(status(ready));
    history.record(status(null));
    const plain = new Chalk({ level: 0 });
    expect(history.render(status(null), plain)).toEqual([`backlog  task_a  ${sparkline(Array.from({ length: 20 }, (_, index) => index + 5))}  24`]);
  });
});

describe('status --watch on a narrow terminal', () => {
  it('moves up exactly over the previous frame at 50 columns: no line is wider, so none wraps', async () => {
    const cwd = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
    const stdout = Object.assign(new CapturedStream(), { isTTY: true, columns: 50 });
    const controller = new AbortController();
    let frames = 0;
    let ready = 0;
    const deps = testDependencies({
      cwd,
      env: { TERM: 'xterm' },
      stdout,
      createEngine: () => new FakeEngine(() => 1_700_000_000_000, ['demo/worker:1']),
      openBroker: async () => new FakeBrokerAdmin(new Map<string, QueueStats>([['task_a', { queue: 'task_a', ready: (ready += 40), consumers: 1 }]])),
      clock: {
        now: () => 1_700_000_000_000,
        sleep: async () => {
          if (++frames === 3) controller.abort();
        },
      },
    });
    expect(await main(['node', 'qscale', 'status', '--watch'], deps, controller.signal)).not.toBe(2);
    // Frames are separated by "up N lines, clear below"; each N is the previous frame's line count.
    const parts = stdout.text.split(/\x1b\[(\d+)A\x1b\[0J/);
    const frameTexts = parts.filter((_, index) => index % 2 === 0);
    const moves = parts.filter((_, index) => index % 2 === 1).map(Number);
    expect(frameTexts).toHaveLength(3);
    expect(moves).toEqual(frameTexts.slice(0, -1).map((frame) => frame.replace(/\n$/, '').split('\n').length));
    for (const line of frameTexts.join('').split('\n')) expect(visible(line)).toBeLessThan(50);
    // Backlog 40, 80, 120 over the three frames.
    expect(frameTexts[2]).toMatch(/backlog.* task_a  .*▃▆█ +.* {2}120\n/);
  });

  it('into a pipe: whole frames one after another, no escape code at all', async () => {
    const cwd = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
    const stdout = new CapturedStream();
    const controller = new AbortController();
    let frames = 0;
    const deps = testDependencies({
      cwd,
      env: { TERM: 'xterm' },
      stdout,
      createEngine: () => new FakeEngine(() => 1_700_000_000_000, ['demo/worker:1']),
      openBroker: async () => new FakeBrokerAdmin(new Map<string, QueueStats>([['task_a', { queue: 'task_a', ready: 3, consumers: 1 }]])),
      clock: { now: () => 1_700_000_000_000, sleep: async () => void (++frames === 2 && controller.abort()) },
    });
    await main(['node', 'qscale', 'status', '--watch'], deps, controller.signal);
    expect(stdout.text.match(/^project demo$/gm)).toHaveLength(2);
    expect(stdout.text).toContain('backlog  task_a  ██');
    expect(stdout.text).not.toContain(ESC);
  });
});
