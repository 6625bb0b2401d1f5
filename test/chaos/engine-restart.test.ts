import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { writeProject } from '../support/fixtures.js';
import { docker, removeProjectContainers, uniqueName } from '../integration/support/real-cli.js';
import { CHAOS_BROKER_URL, CHAOS_MANAGEMENT_URL } from './support/chaos-broker.js';

/**
 * dockerd is restarted for real under running `qscale events`, `qscale status --watch` and
 * `qscale logs -f`: each keeps running, says once that the engine went away and once that it is
 * back (with the gap), and carries on. dockerd is started again in afterAll whatever happens.
 */

const execFileAsync = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const BIN = path.join(REPO, 'bin/qscale.js');
const SOCKET = '/var/run/docker.sock';
// As scripts/setup-docker.sh starts it.
const START_DOCKERD = 'DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/qscale-dockerd.log 2>&1 &';

const project = uniqueName('chaos-engine');
const COMPOSE = `services:
  svc:
    image: qscale/node-base:local
    network_mode: host
`;
const CONFIG = `project:
  name: ${project}
broker:
  url: ${CHAOS_BROKER_URL}
  management_url: ${CHAOS_MANAGEMENT_URL}
workers:
  svc:
    queue: ${project}.tasks
    min_replicas: 0
    max_replicas: 2
`;

let dir: string;
const children: ChildProcess[] = [];

interface Live {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

function runQscale(...args: string[]): Live {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stdout: () => stdout, stderr: () => stderr };
}

async function eventually(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await systemClock.sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function engineAnswers(): Promise<boolean> {
  try {
    await execFileAsync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

function dockerdPid(): number | undefined {
  try {
    return Number(execFileSync('pgrep', ['-x', 'dockerd'], { encoding: 'utf8' }).trim().split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until dockerd answers, starting it as the set-up script does whenever none runs: one
 * still shutting down is let finish first, one starting up is let start.
 */
async function ensureDockerd(): Promise<void> {
  await eventually('dockerd to answer `docker info`', async () => {
    if (await engineAnswers()) return true;
    if (dockerdPid() === undefined) execFileSync('sh', ['-c', START_DOCKERD]);
    return false;
  }, 90_000);
}

/** A replica as a scale-up makes it; --init so dockerd's shutdown stops it at once, keeping the outage short. */
async function startReplica(number: number, script: string, extra: string[] = []): Promise<string> {
  return docker(
    'run', '-d', '--init', '--network', 'host',
    '--name', `${project}-svc-${number}`,
    '--label', `com.docker.compose.project=${project}`,
    '--label', 'com.docker.compose.service=svc',
    '--label', `com.docker.compose.container-number=${number}`,
    '--label', 'com.docker.compose.oneoff=False',
    ...extra,
    'qscale/node-base:local', 'node', '-e', script,
  );
}

beforeAll(async () => {
  await ensureDockerd();
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: REPO, stdio: 'pipe', timeout: 120_000 });
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  await startReplica(1, "setInterval(() => console.log('tick'), 200)");
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // Whatever happened above, the engine runs again for everyone else.
  await ensureDockerd();
  await removeProjectContainers(project);
}, 120_000);

describe('a Docker engine restart under the streaming commands', () => {
  it('events, status --watch and logs -f keep running, report the gap once, and carry on', async () => {
    const events = runQscale('events');
    const status = runQscale('status', '--watch', '1s');
    const logs = runQscale('logs', '-f');
    // Each is live: events has seen a container event, status has drawn a frame, logs has a line.
    let probe = 10;
    await eventually('events to report a container', async () => {
      await startReplica(probe++, '', ['--rm']).catch(() => {});
      return /svc-\d+ +started/.test(events.stdout());
    }, 30_000);
    await eventually('a status frame', () => status.stdout().includes(`project ${project}`), 20_000);
    await eventually('a log line', () => /svc-1 +\| tick/.test(logs.stdout()), 20_000);

    const pid = dockerdPid();
    expect(pid).toBeDefined();
    const stoppedAt = Date.now();
    process.kill(pid!, 'SIGTERM');
    await eventually('the Docker socket to go', () => !existsSync(SOCKET) && dockerdPid() === undefined, 30_000);
    const goneAt = Date.now();
    execFileSync('sh', ['-c', START_DOCKERD]);
    await eventually('dockerd to answer again', engineAnswers, 60_000);
    const outageSeconds = (Date.now() - stoppedAt) / 1000;
    console.log(`dockerd stopped in ${((goneAt - stoppedAt) / 1000).toFixed(1)} s; engine away ${outageSeconds.toFixed(1)} s in all`);

    for (const [name, live] of [['events', events], ['status --watch', status], ['logs -f', logs]] as const) {
      await eventually(`${name} to say the engine is back`, () => live.stderr().includes('the Docker engine is back after'), 20_000);
      expect(live.child.exitCode, `${name} exited; stderr:\n${live.stderr()}`).toBeNull();
      expect(live.stderr().match(/the Docker engine went away/g), `${name}: ${live.stderr()}`).toHaveLength(1);
      expect(live.stderr().match(/the Docker engine is back after/g), `${name}: ${live.stderr()}`).toHaveLength(1);
      const gap = Number(/is back after (\d+(?:\.\d+)?)s/.exec(live.stderr())?.[1]);
      expect(gap, `${name}: ${live.stderr()}`).toBeGreaterThan(0);
      expect(gap).toBeLessThanOrEqual(outageSeconds + 3);
      expect(live.stderr()).not.toMatch(/\n\s+at |error:/);
      console.log(`${name} stderr:\n  ${live.stderr().trim().split('\n').join('\n  ')}`);
    }
    // The replica died with the old engine: events saw it die, or reports it in the gap.
    expect(`${events.stdout()}\n${events.stderr()}`).toMatch(/svc-1 +died|svc-1 running → exited/);

    // And they carry on: events reports a container started on the new engine, status draws new frames.
    const framesBefore = status.stdout().split(`project ${project}`).length;
    await eventually('events to report a container on the new engine', async () => {
      await startReplica(probe++, '', ['--rm']).catch(() => {});
      return new RegExp(`svc-${probe - 1} +started`).test(events.stdout());
    }, 30_000);
    await eventually('status to draw another frame', () => status.stdout().split(`project ${project}`).length > framesBefore, 10_000);
    for (const live of [events, status, logs]) {
      live.child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => live.child.once('exit', (exitCode) => resolve(exitCode)));
      expect(code).toBe(130);
    }
  }, 240_000);
});
