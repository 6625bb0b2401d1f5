import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { realDependencies } from '../../src/cli/dependencies.js';
import { Interrupt } from '../../src/core/errors.js';
import { CapturedStream, type RunResult } from '../support/cli-harness.js';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, docker, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

// Stand-ins for workers: `quick` exits on SIGTERM at once; `stubborn` ignores it, so a stop takes its whole 6 s grace.
const COMPOSE = `version: "2.4"
services:
  quick:
    image: qscale/node-base:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    command: ["node", "-e", "console.log('quick up'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
  stubborn:
    image: qscale/node-base:local
    network_mode: host
    stop_grace_period: 6s
    command: ["node", "-e", "process.on('SIGTERM', () => console.log('draining')); setInterval(() => {}, 1000)"]
  missing:
    image: qscale/absent-image:none
    network_mode: host
`;

const project = uniqueName('it-scale-int');
const config = `project:
  name: ${project}
workers:
  quick:
    queue: q_quick
    min_replicas: 1
    max_replicas: 8
    initial_replicas: 1
  stubborn:
    queue: q_stubborn
    min_replicas: 0
    max_replicas: 4
    initial_replicas: 0
  missing:
    queue: q_missing
    min_replicas: 0
    max_replicas: 4
    initial_replicas: 0
`;

let dir: string;

/** Runs the CLI in-process and sends it `signal` (as main's handler would) when stderr first shows `trigger`, or after that many ms. */
async function qscaleInterrupted(trigger: RegExp | number, signal: 'SIGINT' | 'SIGTERM', ...args: string[]): Promise<RunResult & { interruptedAt?: number; returnedAt: number }> {
  const controller = new AbortController();
  if (typeof trigger === 'number') {
    setTimeout(() => {
      interruptedAt = Date.now();
      controller.abort(new Interrupt(signal));
    }, trigger);
  }
  const stdout = new CapturedStream();
  let interruptedAt: number | undefined;
  const stderr = {
    text: '',
    isTTY: false,
    write(chunk: string) {
      this.text += chunk;
      if (interruptedAt === undefined && typeof trigger !== 'number' && trigger.test(this.text)) {
        interruptedAt = Date.now();
        controller.abort(new Interrupt(signal));
      }
      return true;
    },
  };
  const code = await main(['node', 'qscale', ...args], { ...realDependencies(), cwd: dir, stdout, stderr }, controller.signal);
  return { code, stdout: stdout.text, stderr: stderr.text, interruptedAt, returnedAt: Date.now() };
}

async function states(service: string): Promise<string[]> {
  const out = await docker('ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.State}}');
  return out ? out.split('\n').sort() : [];
}

beforeAll(() => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': config });
});

afterAll(async () => {
  await removeProjectContainers(project);
});

describe('interrupted changes leave a true, clean fleet', () => {
  it('SIGINT at the first "Created" of scale 0 → 8: exit 130, as many containers exist as run, status agrees', async () => {
    await qscale(dir, 'scale', 'quick', '0').catch(() => {});
    await removeProjectContainers(project);
    const result = await qscaleInterrupted(/Created/, 'SIGINT', 'scale', 'quick', '8');
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/quick: stopped part-way: \d running \(was 0, asked 8\)/);
    expect(result.stderr).toContain('error: interrupted');
    const after = await states('quick');
    expect(after.every((state) => state === 'running')).toBe(true);
    const running = after.length;
    expect(result.stderr).toContain(`quick: stopped part-way: ${running} running`);
    const status = JSON.parse((await qscale(dir, 'status', '--json')).stdout) as { services: Array<{ service: string; running: number }> };
    expect(status.services.find((service) => service.service === 'quick')?.running).toBe(running);
    console.log(`interrupted scale 0 → 8 at the first "Created":\n${result.stderr}`);
    // The next scale counts only what runs, so it is not "already at 8".
    const next = await qscale(dir, 'scale', 'quick', '8');
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`quick: ${running} → 8`);
    expect(await states('quick')).toEqual(Array(8).fill('running'));
  });

  it('SIGTERM during scale 3 → 0 of a 6 s grace: exit 143 after the stops, every stopped container removed, nothing printed after the report', async () => {
    expect((await qscale(dir, 'scale', 'stubborn', '3')).code).toBe(0);
    const started = Date.now();
    // --json prints no progress to wait for: the signal comes 1.5 s in, while the engine waits out the grace.
    const result = await qscaleInterrupted(1500, 'SIGTERM', 'scale', 'stubborn', '0', '--json');
    expect(result.code).toBe(143);
    // The engine needed the whole grace to stop them; the run waited for that rather than leave exited containers.
    expect(result.returnedAt - started).toBeGreaterThan(5000);
    expect(await states('stubborn')).toEqual([]);
    const outcome = JSON.parse(result.stdout);
    expect(outcome).toMatchObject({ complete: false, services: [{ service: 'stubborn', before: 3, after: 0, complete: false, left: [] }] });
    const lines = result.stderr.trimEnd().split('\n');
    const report = lines.findIndex((line) => line.startsWith('stubborn: stopped part-way'));
    expect(report).toBeGreaterThan(-1);
    expect(lines.slice(report).filter((line) => /Stopped|Removed/.test(line))).toEqual([]);
  });

  it('up brings back all 3 killed replicas, showing their last log lines', async () => {
    expect((await qscale(dir, 'scale', 'quick', '3')).code).toBe(0);
    const killed = await containerIdsOf(project, 'quick');
    await docker('kill', ...killed);
    const result = await qscale(dir, 'up');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('quick: 0 → 3');
    expect(result.stderr).toMatch(/last 1 log lines of .*-quick-1 \(exited\):\n {2}\| quick up/);
    expect(await states('quick')).toEqual(['running', 'running', 'running']);
    const replacements = await containerIdsOf(project, 'quick');
    expect(replacements.filter((id) => killed.includes(id))).toEqual([]);
    // The worker's drain deadline comes from the stop timeout the engine gives it (stop_grace_period: 5s).
    const inspected = JSON.parse(await docker('inspect', replacements[0]))[0];
    expect([inspected.Config.StopTimeout, inspected.Config.Env.filter((entry: string) => entry.startsWith('QSCALE_STOP_TIMEOUT_MS='))]).toEqual([5, ['QSCALE_STOP_TIMEOUT_MS=5000']]);
  });

  it('scale-all with one image missing changes nothing and exits 2, in a dry run too', async () => {
    const before = await containerIdsOf(project);
    for (const args of [['scale-all', '2'], ['scale-all', '2', '--dry-run']]) {
      const result = await qscale(dir, ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error: image qscale/absent-image:none for service missing is not on this engine; nothing changed');
      expect(await containerIdsOf(project)).toEqual(before);
    }
  });
});
