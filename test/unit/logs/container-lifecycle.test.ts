import { describe, expect, it } from 'vitest';
import { lifecycleEventOf } from '../../../src/core/logs/container-lifecycle.js';
import { logContainerOf, paletteSlot } from '../../../src/core/logs/log-container.js';
import type { ContainerEvent } from '../../../src/core/ports/container-logs.js';

const labels = {
  'com.docker.compose.project': 'demo',
  'com.docker.compose.service': 'worker-a',
  'com.docker.compose.container-number': '3',
  name: 'demo-worker-a-3',
};

const event = (action: string, extra: Record<string, string> = {}): ContainerEvent => ({ id: 'c0ffee', action, time: 1_700_000_000_123, attributes: { ...labels, ...extra } });

describe('lifecycleEventOf', () => {
  it.each([
    ['create', 'created'],
    ['start', 'started'],
    ['destroy', 'removed'],
  ])('maps %s to %s', (action, kind) => {
    expect(lifecycleEventOf(event(action))).toMatchObject({ kind, time: 1_700_000_000_123, container: { name: 'worker-a-3', service: 'worker-a', number: 3 } });
  });

  it('carries the exit code of a death', () => {
    expect(lifecycleEventOf(event('die', { exitCode: '137' }))).toMatchObject({ kind: 'died', exitCode: 137 });
    expect(lifecycleEventOf(event('die'))?.exitCode).toBeUndefined();
  });

  it('reads the health status from the action, as API 1.41 sends it, or from an attribute', () => {
    expect(lifecycleEventOf(event('health_status: unhealthy'))).toMatchObject({ kind: 'health', health: 'unhealthy' });
    expect(lifecycleEventOf(event('health_status', { health_status: 'healthy' }))).toMatchObject({ kind: 'health', health: 'healthy' });
  });

  it.each(['exec_create: node -v', 'exec_start: node -v', 'attach', 'resize', 'kill', 'stop', 'top'])('ignores %s', (action) => {
    expect(lifecycleEventOf(event(action))).toBeUndefined();
  });
});

describe('logContainerOf', () => {
  it('names a replica <service>-<number> from its labels', () => {
    expect(logContainerOf({ id: 'x', name: '/demo-worker-a-3', labels })).toEqual({ id: 'x', name: 'worker-a-3', containerName: 'demo-worker-a-3', service: 'worker-a', number: 3 });
  });

  it('falls back to the engine name without the project prefix, then to the id', () => {
    expect(logContainerOf({ id: 'x', name: 'demo-odd', labels: { 'com.docker.compose.project': 'demo' } }).name).toBe('odd');
    expect(logContainerOf({ id: '0123456789abcdef', name: '', labels: {} }).name).toBe('0123456789ab');
  });
});

describe('paletteSlot', () => {
  it('gives a name the same slot every time, and spreads replicas over the palette', () => {
    expect(paletteSlot('worker-a-1', 6)).toBe(paletteSlot('worker-a-1', 6));
    const slots = new Set(Array.from({ length: 12 }, (_, index) => paletteSlot(`worker-a-${index + 1}`, 6)));
    expect(slots.size).toBeGreaterThanOrEqual(4);
    for (const slot of slots) expect(slot).toBeGreaterThanOrEqual(0), expect(slot).toBeLessThan(6);
  });

  it('refuses an empty palette', () => {
    expect(() => paletteSlot('x', 0)).toThrow('palette size must be a whole number ≥ 1, got 0');
  });
});
