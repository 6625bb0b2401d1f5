import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import { CapturedStream, testDependencies } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

const NOW = 1_700_000_000_000;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Waits (on setImmediate: setTimeout is faked here) until the condition holds; loading the command's modules takes a moment. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('Ctrl-C, twice', () => {
  it('the first lets a stop finish and removes the container; the second gives up on the rest, says what it left, and exits at last', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const engine = new FakeEngine(() => NOW, ['demo/worker:1']);
    const labels = (number: number) => ({ [LABEL.project]: 'demo', [LABEL.service]: 'worker-a', [LABEL.oneoff]: 'False', [LABEL.containerNumber]: String(number) });
    for (const number of [1, 2, 3]) engine.seed(`demo-worker-a-${number}`, labels(number), 'running', { image: 'demo/worker:1' });
    // Container 3 drains slowly: its stop never ends during the test.
    engine.stopGate = (name) => (name.endsWith('-3') ? new Promise<void>(() => {}) : undefined);
    const stderr = new CapturedStream();
    const deps = testDependencies({ cwd: writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE }), stderr, createEngine: () => engine });
    const run = main(['node', 'qscale', 'scale', 'worker-a', '1'], deps);
    await waitFor(() => engine.calls.includes('remove demo-worker-a-2') || stderr.text.includes('error'));
    expect(stderr.text).not.toContain('error');
    process.emit('SIGINT');
    process.emit('SIGINT');
    const code = await run;
    expect(code).toBe(130);
    expect(stderr.text).toContain('interrupted: finishing or undoing what was begun (Ctrl-C again to give up on it)');
    expect(stderr.text).toContain('worker-a: stopped part-way');
    expect(stderr.text).toContain('  stopped and removed: demo-worker-a-2');
    expect(stderr.text).toContain('  left stopping, not removed: demo-worker-a-3');
    expect(stderr.text.trimEnd().split('\n').at(-1)).toBe('error: interrupted');
    expect(exit).not.toHaveBeenCalled();
    // The last resort: a call the engine never answers would keep the process alive.
    vi.advanceTimersByTime(3000);
    expect(exit).toHaveBeenCalledWith(130);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});
