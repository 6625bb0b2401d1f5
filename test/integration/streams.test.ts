import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { writeProject } from '../support/fixtures.js';
import { docker, removeProjectContainers, uniqueName } from './support/real-cli.js';

/**
 * The streaming commands piped into `head`, as an operator types them: real processes, a real
 * pipe, the real engine and broker. When head leaves, a command whose only job is printing ends
 * with 0 and no stack trace; the autoscaler goes on deciding.
 */

const REPO = path.resolve(__dirname, '../..');
const BIN = path.join(REPO, 'bin/qscale.js');
const project = uniqueName('it-streams');
const queue = `${project}.tasks`;
// A line on stdout every 50 ms.
const CHATTY = "let n = 0; setInterval(() => console.log('tick ' + ++n), 50)";
const COMPOSE = `services:
  svc:
    image: qscale/node-base:local
    network_mode: host
    command: ["node", "-e", ${JSON.stringify(CHATTY)}]
`;
const CONFIG = `project:
  name: ${project}
broker:
  url: amqp://guest:guest@127.0.0.1:5672
  management_url: http://127.0.0.1:15672
workers:
  svc:
    queue: ${queue}
    min_replicas: 0
    max_replicas: 2
`;

let dir: string;

/** Starts a replica as a scale-up would: Compose's labels and name, host networking. */
async function startReplica(number: number, script: string, extra: string[] = []): Promise<string> {
  return docker(
    'run', '-d', '--network', 'host',
    '--name', `${project}-svc-${number}`,
    '--label', `com.docker.compose.project=${project}`,
    '--label', 'com.docker.compose.service=svc',
    '--label', `com.docker.compose.container-number=${number}`,
    '--label', 'com.docker.compose.oneoff=False',
    ...extra,
    'qscale/node-base:local', 'node', '-e', script,
  );
}

interface Piped {
  qscale: ChildProcess;
  exit: Promise<number | null>;
  /** What head printed, once it has exited. */
  headOutput: Promise<string>;
  stderr: () => string;
}

/** `qscale <args> | head -<lines>`: qscale's stdout is the write end of head's stdin pipe. */
function pipedIntoHead(lines: number, ...args: string[]): Piped {
  const head = spawn('head', [`-${lines}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  const qscale = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', head.stdin!, 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  // Only qscale writes into head: our copy of the write end goes.
  head.stdin!.destroy();
  let stderr = '';
  qscale.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let headText = '';
  head.stdout!.on('data', (chunk: Buffer) => (headText += chunk.toString()));
  const headOutput = new Promise<string>((resolve) => head.on('close', () => resolve(headText)));
  const exit = new Promise<number | null>((resolve) => qscale.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { qscale, exit, headOutput, stderr: () => stderr };
}

/** Resolves with the exit code, or fails the test when the process outlives `ms`. */
async function exitWithin(piped: Piped, ms: number): Promise<number | null> {
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
  const outcome = await Promise.race([piped.exit, timeout]);
  if (outcome === 'timeout') {
    piped.qscale.kill('SIGKILL');
    throw new Error(`qscale was still running ${ms} ms after head left; stderr:\n${piped.stderr()}`);
  }
  return outcome;
}

const NO_STACK = /\n\s+at |EPIPE|Error:|error:/;

beforeAll(async () => {
  // The bundle only (no type check): it is what bin/qscale.js runs.
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: REPO, stdio: 'pipe', timeout: 120_000 });
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  await startReplica(1, CHATTY);
});

afterAll(async () => {
  await removeProjectContainers(project);
});

describe('streaming commands piped into head', () => {
  it('logs -f | head -5: five lines, then exit 0 and no stack trace', async () => {
    const piped = pipedIntoHead(5, 'logs', '-f');
    const code = await exitWithin(piped, 20_000);
    expect((await piped.headOutput).trim().split('\n')).toHaveLength(5);
    expect((await piped.headOutput)).toMatch(/^svc-1 +\| tick \d+$/m);
    expect(code, piped.stderr()).toBe(0);
    expect(piped.stderr()).not.toMatch(NO_STACK);
  });

  it('events | head -1: the first event, then exit 0 at the next one', async () => {
    const piped = pipedIntoHead(1, 'events');
    // Short-lived replicas make events (created, started, died, removed) until qscale has ended.
    let number = 10;
    let ended = false;
    void piped.exit.then(() => (ended = true));
    const making = (async () => {
      for (let round = 0; round < 20 && !ended; round++) {
        await startReplica(number++, '', ['--rm']).catch(() => {});
        await systemClock.sleep(200);
      }
    })();
    const code = await exitWithin(piped, 30_000);
    await making;
    // qscale subscribes while replicas come and go: the feed may open with any step of one.
    expect(await piped.headOutput).toMatch(/^\S+ +svc-\d+ +(created|started|died \(exit code 0\)|removed)\n$/);
    expect(code, piped.stderr()).toBe(0);
    expect(piped.stderr()).not.toMatch(NO_STACK);
  });

  it('status --watch | head -1: the first line, then exit 0 at the next frame', async () => {
    const piped = pipedIntoHead(1, 'status', '--watch', '500ms');
    const code = await exitWithin(piped, 20_000);
    expect(await piped.headOutput).toBe(`project ${project}\n`);
    expect(code, piped.stderr()).toBe(0);
    expect(piped.stderr()).not.toMatch(NO_STACK);
  });

  it('autoscale --dry-run --metrics-port 0 | head -1: keeps deciding after head left (its metrics say so), and ends cleanly when stopped', async () => {
    const piped = pipedIntoHead(1, 'autoscale', '--dry-run', '--interval', '300ms', '--metrics-port', '0');
    expect(await piped.headOutput).toMatch(/svc/);
    // Head is gone; the next decision meets the closed pipe.
    for (let round = 0; round < 50 && !piped.stderr().includes('stdout was closed'); round++) await systemClock.sleep(100);
    expect(piped.stderr()).toContain('stdout was closed: deciding goes on without printing decisions');
    const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(piped.stderr())?.[1];
    expect(port).toBeDefined();
    const decisions = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^qscale_autoscale_decisions_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const before = await decisions();
    await systemClock.sleep(1500);
    expect(await decisions()).toBeGreaterThan(before);
    expect(piped.qscale.exitCode).toBeNull();
    piped.qscale.kill('SIGTERM');
    expect(await exitWithin(piped, 10_000)).toBe(143);
    expect(piped.stderr()).not.toMatch(/\n\s+at |EPIPE/);
  });

  it('autoscale --dry-run | head -1 exits 0: a dry run nobody reads has nothing left to do', async () => {
    const piped = pipedIntoHead(1, 'autoscale', '--dry-run', '--interval', '300ms');
    expect(await piped.headOutput).toMatch(/svc/);
    expect(await exitWithin(piped, 10_000)).toBe(0);
    expect(piped.stderr()).not.toMatch(NO_STACK);
  });

  it('autoscale --dry-run --once | head -1 exits 0', async () => {
    const piped = pipedIntoHead(1, 'autoscale', '--dry-run', '--once');
    expect(await exitWithin(piped, 20_000)).toBe(0);
    expect(piped.stderr()).not.toMatch(NO_STACK);
  });
});
