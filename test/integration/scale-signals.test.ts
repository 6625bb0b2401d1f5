import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeProject } from '../support/fixtures.js';
import { docker, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

/** The real CLI process (bin/qscale.js) under real signals: what main's handler does with one, and with two. */
const REPO = path.resolve(__dirname, '../..');
const BIN = path.join(REPO, 'bin/qscale.js');

const COMPOSE = `version: "2.4"
services:
  quick:
    image: qscale/node-base:local
    network_mode: host
    init: true
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
  stubborn:
    image: qscale/node-base:local
    network_mode: host
    stop_grace_period: 6s
    command: ["node", "-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"]
`;

const project = uniqueName('it-signals');
const config = `project:
  name: ${project}
workers:
  quick:
    queue: q_quick
    max_replicas: 8
  stubborn:
    queue: q_stubborn
    max_replicas: 4
`;
let dir: string;

interface Run {
  code: number | null;
  stderr: string;
  /** ms from the first signal to the exit. */
  exitAfterMs: number;
}

/** Runs bin/qscale.js; when stderr first shows `trigger`, sends `signals` (one every `gapMs`). */
function runWithSignals(args: string[], trigger: RegExp, signals: NodeJS.Signals[], gapMs = 300): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  let firstSignalAt = 0;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (!firstSignalAt && trigger.test(stderr)) {
      firstSignalAt = Date.now();
      signals.forEach((signal, index) => setTimeout(() => child.kill(signal), index * gapMs));
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, exitAfterMs: Date.now() - firstSignalAt })));
}

async function states(service: string): Promise<string[]> {
  const out = await docker('ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.State}}');
  return out ? out.split('\n').sort() : [];
}

beforeAll(() => {
  // The bundle only (no type check): it is what bin/qscale.js runs.
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: REPO, stdio: 'pipe', timeout: 120_000 });
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': config });
});

afterAll(async () => {
  await removeProjectContainers(project);
  await docker('rm', '-f', `${project}-stubborn-qscale-lock`).catch(() => '');
});

describe('signals to the qscale process', () => {
  it('SIGINT at the first "Created" of scale 0 → 8: exit 130, no created container left, the count reported', async () => {
    const run = await runWithSignals(['scale', 'quick', '8'], /Created/, ['SIGINT']);
    expect(run.code, run.stderr).toBe(130);
    const after = await states('quick');
    expect(after.filter((state) => state !== 'running')).toEqual([]);
    expect(run.stderr).toContain(`quick: stopped part-way: ${after.length} running (was 0, asked 8)`);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe('error: interrupted');
  });

  it('SIGTERM twice during a 6 s drain: the second abandons, names what it left, and the process is gone within 3.5 s', async () => {
    expect((await qscale(dir, 'scale', 'stubborn', '2')).code).toBe(0);
    const run = await runWithSignals(['scale', 'stubborn', '0'], /Stopping/, ['SIGTERM', 'SIGTERM']);
    expect(run.code, run.stderr).toBe(143);
    expect(run.exitAfterMs).toBeLessThan(3500);
    expect(run.stderr).toMatch(/left stopping, not removed: .*stubborn-1, .*stubborn-2/);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe('error: interrupted');
    // What it left is stopped by the engine anyway; the next scale cleans it up.
    await new Promise((resolve) => setTimeout(resolve, 6500));
    expect(await states('stubborn')).toEqual(['exited', 'exited']);
    const next = await qscale(dir, 'scale', 'stubborn', '0');
    expect(next.code).toBe(0);
    expect(await states('stubborn')).toEqual([]);
  }, 30_000);
});
