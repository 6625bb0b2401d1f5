import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { openTaskBroker } from '../../../src/adapters/rabbitmq/task-broker.js';
import { main } from '../../../src/cli/main.js';
import { systemClock } from '../../../src/core/clock.js';
import { realDependencies } from '../../../src/cli/dependencies.js';
import { CapturedStream, type RunResult } from '../../support/cli-harness.js';

export const execFileAsync = promisify(execFile);

/** A project name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Runs the CLI in-process against the real Docker engine and broker. */
export async function qscale(cwd: string, ...args: string[]): Promise<RunResult> {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const code = await main(['node', 'qscale', ...args], { ...realDependencies(), cwd, stdout, stderr }, new AbortController().signal);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

/** Ids of the project's containers as `docker ps` sees them, sorted. */
export async function containerIdsOf(project: string, service?: string, all = true): Promise<string[]> {
  const filters = ['--filter', `label=com.docker.compose.project=${project}`];
  if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
  const out = await docker('ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', ...filters);
  return out ? out.split('\n').sort() : [];
}

export async function removeProjectContainers(project: string): Promise<void> {
  const ids = await containerIdsOf(project);
  if (ids.length > 0) await docker('rm', '-f', ...ids);
}

/** A compose service running the real worker image on `queue`, with near no-op tasks: YAML under `services:`. */
export function workerComposeService(queue: string, brokerUrl = 'amqp://guest:guest@127.0.0.1:5672'): string {
  return `  worker:
    image: qscale/worker:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    environment:
      BROKER_URL: ${brokerUrl}
      QUEUE: ${queue}
      PREFETCH: "10"
      TASK_MS: "1"
      LOG_LEVEL: warn
`;
}

/** Waits (up to 20 s) until `queue` has `consumers` consumers, and fails the test otherwise. */
export async function expectConsumers(brokerUrl: string, queue: string, consumers: number): Promise<void> {
  const broker = await openTaskBroker(brokerUrl);
  try {
    for (let i = 0; i < 100 && (await broker.queueInfo(queue))?.consumers !== consumers; i++) await systemClock.sleep(200);
    expect((await broker.queueInfo(queue))?.consumers).toBe(consumers);
  } finally {
    await broker.close();
  }
}
