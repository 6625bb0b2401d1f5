import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeProject } from '../support/fixtures.js';
import { containerIdsOf, docker, execFileAsync, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

// A worker stand-in: node on the offline base image, host networking, exits 0 on SIGTERM.
const COMPOSE = `version: "2.4"
services:
  sleeper:
    image: qscale/node-base:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
    labels:
      team: qscale-tests
  solo:
    image: qscale/node-base:local
    network_mode: host
    container_name: \${SOLO_NAME:-qscale-solo}
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
`;

const project = uniqueName('it-scale');
const config = `project:
  name: ${project}
workers:
  sleeper:
    queue: q_sleeper
    min_replicas: 0
    max_replicas: 6
  solo:
    queue: q_solo
    max_replicas: 3
`;

let dir: string;
const compose = (...args: string[]) => execFileAsync('docker-compose', ['-f', `${dir}/docker-compose.yml`, '-p', project, ...args], { timeout: 120_000 });

async function runningNumbers(): Promise<string[]> {
  const out = await docker('ps', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=sleeper', '--format', '{{.Label "com.docker.compose.container-number"}}');
  return out ? out.split('\n').sort() : [];
}

beforeAll(() => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': config });
});

afterAll(async () => {
  await removeProjectContainers(project);
});

describe('qscale scale against the real engine', () => {
  it('scales up, is idempotent, and scales down to the count', async () => {
    expect(await qscale(dir, 'scale', 'sleeper', '3')).toMatchObject({ code: 0 });
    expect(await runningNumbers()).toEqual(['1', '2', '3']);

    const before = await containerIdsOf(project, 'sleeper');
    const again = await qscale(dir, 'scale', 'sleeper', '3');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('sleeper: already at 3');
    expect(await containerIdsOf(project, 'sleeper')).toEqual(before);

    expect((await qscale(dir, 'scale', 'sleeper', '1')).code).toBe(0);
    expect(await runningNumbers()).toEqual(['1']);
    expect(await containerIdsOf(project, 'sleeper')).toHaveLength(1);
  });

  it('gives containers Compose labels, names and settings', async () => {
    const [id] = await containerIdsOf(project, 'sleeper');
    const inspected = JSON.parse(await docker('inspect', id))[0];
    expect(inspected.Name).toBe(`/${project}-sleeper-1`);
    expect(inspected.Config.Labels).toMatchObject({
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'sleeper',
      'com.docker.compose.container-number': '1',
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': dir,
      'com.docker.compose.project.config_files': `${dir}/docker-compose.yml`,
      team: 'qscale-tests',
    });
    expect(inspected.Config.Labels['com.docker.compose.config-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(inspected.HostConfig.NetworkMode).toBe('host');
    expect(inspected.HostConfig.Init).toBe(true);
    expect(inspected.Config.StopTimeout).toBe(5);
  });

  it('refuses counts beyond the limits and changes nothing', async () => {
    const before = await containerIdsOf(project);
    const result = await qscale(dir, 'scale', 'sleeper', '7');
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: sleeper: 7 replicas exceeds its max_replicas (6); nothing changed\n' });
    const solo = await qscale(dir, 'scale', 'solo', '2');
    expect(solo.code).toBe(2);
    expect(solo.stderr).toMatch(/^error: solo sets container_name "qscale-solo", so it cannot run 2 replicas; nothing changed/);
    expect(await containerIdsOf(project)).toEqual(before);
  });

  it('replaces a dead container so the count runs again', async () => {
    await qscale(dir, 'scale', 'sleeper', '2');
    const [victim] = await containerIdsOf(project, 'sleeper');
    await docker('kill', victim);
    const result = await qscale(dir, 'scale', 'sleeper', '2');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Removed/);
    expect(await runningNumbers()).toEqual(['1', '2']);
    expect(await containerIdsOf(project, 'sleeper')).not.toContain(victim);
  });

  it('two scales at the same moment leave no duplicate numbers', async () => {
    await qscale(dir, 'scale', 'sleeper', '0');
    const results = await Promise.all([qscale(dir, 'scale', 'sleeper', '4'), qscale(dir, 'scale', 'sleeper', '4')]);
    expect(results.map((result) => [result.code, result.stderr.split('\n').filter((line) => /error/.test(line))])).toEqual([[0, []], [0, []]]);
    expect(await runningNumbers()).toEqual(['1', '2', '3', '4']);
    expect(await containerIdsOf(project, 'sleeper')).toHaveLength(4);
  });
});

describe('compatibility with docker-compose', () => {
  it('docker-compose ps lists exactly the containers qscale made, and down removes them', async () => {
    await qscale(dir, 'scale', 'sleeper', '3');
    const ours = await containerIdsOf(project, 'sleeper');
    const { stdout } = await compose('ps', '-q', 'sleeper');
    expect(stdout.trim().split('\n').sort()).toEqual(ours);
    await compose('down', '-t', '5');
    expect(await containerIdsOf(project)).toEqual([]);
  });

  it('qscale ps and scale see containers that docker-compose up --scale made', async () => {
    await compose('up', '-d', '--scale', 'sleeper=2', 'sleeper');
    const made = await containerIdsOf(project, 'sleeper');
    expect(made).toHaveLength(2);
    const rows = JSON.parse((await qscale(dir, 'ps', '--json')).stdout) as Array<{ name: string; state: string; createdBy: string }>;
    expect(rows.map((row) => [row.state, row.createdBy])).toEqual([
      ['running', 'compose'],
      ['running', 'compose'],
    ]);
    expect((await qscale(dir, 'scale', 'sleeper', '3')).code).toBe(0);
    expect(await runningNumbers()).toEqual(['1', '2', '3']);
    const after = await containerIdsOf(project, 'sleeper');
    expect(after).toEqual(expect.arrayContaining(made));
  });

  it('qscale down removes the whole fleet, whoever made it', async () => {
    const result = await qscale(dir, 'down', '-t', '5');
    expect(result.code).toBe(0);
    expect(await containerIdsOf(project)).toEqual([]);
  });
});
