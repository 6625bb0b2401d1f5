import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { LogContainer } from '../../../src/core/logs/log-container.js';
import { LogLineRenderer, renderLifecycle } from '../../../src/cli/render/log-lines.js';

const plain = new Chalk({ level: 0 });
const colored = new Chalk({ level: 1 });
const replica = (service: string, number: number): LogContainer => ({ id: `${service}${number}`, name: `${service}-${number}`, containerName: `demo-${service}-${number}`, service, number });
const RECEIVED = Date.parse('2024-05-01T10:00:00.000Z');

describe('LogLineRenderer', () => {
  it("pads names to the widest container's, as Compose does", () => {
    const renderer = new LogLineRenderer(plain, { timestamps: false, json: false });
    renderer.widen(replica('worker-a', 1));
    renderer.widen(replica('worker-long', 10));
    expect(renderer.line({ container: replica('worker-a', 1), stream: 'stdout', text: 'hi' }, RECEIVED)).toBe('worker-a-1     | hi');
    expect(renderer.line({ container: replica('worker-long', 10), stream: 'stderr', text: 'oops' }, RECEIVED)).toBe('worker-long-10 | oops');
  });

  it('gives each container one colour, the same on every line', () => {
    const renderer = new LogLineRenderer(colored, { timestamps: false, json: false });
    const first = renderer.line({ container: replica('worker-a', 1), stream: 'stdout', text: 'x' }, RECEIVED);
    const again = renderer.line({ container: replica('worker-a', 1), stream: 'stderr', text: 'x' }, RECEIVED);
    expect(first).toMatch(/^\u001b\[\d+mworker-a-1 \| \u001b\[39mx$/);
    expect(again).toBe(first);
    const colours = new Set(Array.from({ length: 8 }, (_, index) => renderer.line({ container: replica('worker-a', index + 1), stream: 'stdout', text: '' }, RECEIVED).slice(0, 5)));
    expect(colours.size).toBeGreaterThan(1);
  });

  it("shows the engine's time with --timestamps, the receipt time when it sent none", () => {
    const renderer = new LogLineRenderer(plain, { timestamps: true, json: false });
    expect(renderer.line({ container: replica('w', 1), stream: 'stdout', text: 'a', time: '2024-05-01T09:59:59.123456789Z' }, RECEIVED)).toBe('w-1 | 2024-05-01T09:59:59.123456789Z a');
    expect(renderer.line({ container: replica('w', 1), stream: 'stdout', text: 'b' }, RECEIVED)).toBe('w-1 | 2024-05-01T10:00:00.000Z b');
  });

  it('prints one JSON object per line with --json', () => {
    const renderer = new LogLineRenderer(colored, { timestamps: false, json: true });
    const line = renderer.line({ container: replica('worker-a', 2), stream: 'stderr', text: 'boom "quoted"', time: '2024-05-01T09:59:59.1Z' }, RECEIVED);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ container: 'demo-worker-a-2', service: 'worker-a', number: 2, stream: 'stderr', time: '2024-05-01T09:59:59.1Z', message: 'boom "quoted"' });
  });
});

describe('renderLifecycle', () => {
  const died = { kind: 'died' as const, container: replica('worker-a', 1), time: RECEIVED, exitCode: 137 };

  it('says when, which replica and what happened', () => {
    expect(renderLifecycle(plain, died, false)).toBe('2024-05-01T10:00:00.000Z  worker-a-1  died (exit code 137)');
    expect(renderLifecycle(plain, { kind: 'health', container: replica('worker-a', 1), time: RECEIVED, health: 'unhealthy' }, false)).toBe('2024-05-01T10:00:00.000Z  worker-a-1  is unhealthy');
  });

  it('prints JSON with the exit code only for deaths', () => {
    expect(JSON.parse(renderLifecycle(plain, died, true))).toEqual({ time: '2024-05-01T10:00:00.000Z', event: 'died', container: 'demo-worker-a-1', service: 'worker-a', number: 1, id: 'worker-a1', exitCode: 137 });
    expect(JSON.parse(renderLifecycle(plain, { ...died, kind: 'started', exitCode: undefined }, true))).not.toHaveProperty('exitCode');
  });
});
