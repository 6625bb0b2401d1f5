import amqp from 'amqplib';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerSwarmApi } from '../../src/adapters/docker/swarm-api.js';
import { realDependencies } from '../../src/cli/dependencies.js';
import { main } from '../../src/cli/main.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config/qscale-config.js';
import type { FleetEvent } from '../../src/core/events.js';
import { SwarmVersionConflictError, type SwarmApi } from '../../src/core/ports/swarm.js';
import { SwarmBackend } from '../../src/core/swarm/swarm-backend.js';
import { CapturedStream, type RunResult } from '../support/cli-harness.js';
import { writeProject } from '../support/fixtures.js';
import { docker, expectConsumers, uniqueName, workerComposeService } from './support/real-cli.js';

/**
 * A single-node swarm on this engine (initialised here, and left, unless one was already there),
 * services of this file's own stack on the host network, and a queue of its own.
 */
const BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
const project = uniqueName('it-swarm');
const QUEUE = `${project}-tasks`;

const COMPOSE = `services:
${workerComposeService(QUEUE, BROKER_URL)}  talker:
    image: qscale/node-base:local
    network_mode: host
    init: true
    stop_grace_period: 2s
    labels:
      team: qscale-tests
    command: ["node", "-e", "let i = 0; process.on('SIGTERM', () => process.exit(0)); setInterval(() => console.log('tick ' + i++), 200)"]
  crasher:
    image: qscale/node-base:local
    network_mode: host
    restart: "no"
    command: ["node", "-e", "console.error('cannot start'); process.exit(3)"]
`;

const config = (backend: string) => `project:
  name: ${project}
system:
  backend: ${backend}
workers:
  worker:
    queue: ${QUEUE}
    min_replicas: 0
    max_replicas: 4
    initial_replicas: 1
  talker:
    queue: ${project}-unused
    min_replicas: 0
    max_replicas: 3
    initial_replicas: 1
  crasher:
    queue: ${project}-unused-2
    max_replicas: 1
    initial_replicas: 0
`;

let dir: string;
let initialisedSwarm = false;

/** The CLI in-process against the real engine; `signal` stops a command that follows. */
async function qscale(args: string[], signal = new AbortController().signal): Promise<RunResult> {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const code = await main(['node', 'qscale', ...args], { ...realDependencies(), env: { PATH: process.env.PATH }, cwd: dir, stdout, stderr }, signal);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const service = (name: string) => `${project}_${name}`;

async function runningTasks(name: string): Promise<string[]> {
  const out = await docker('service', 'ps', service(name), '--filter', 'desired-state=running', '--format', '{{.Name}} {{.CurrentState}}');
  return out
    .split('\n')
    .filter((line) => / Running /.test(line))
    .map((line) => line.split(' ')[0])
    .sort();
}

async function runningContainers(name: string): Promise<number> {
  const out = await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service(name)}`);
  return out ? out.split('\n').length : 0;
}

async function stackServices(): Promise<string[]> {
  const out = await docker('service', 'ls', '--filter', `label=com.docker.stack.namespace=${project}`, '--format', '{{.Name}}');
  return out ? out.split('\n').sort() : [];
}

beforeAll(async () => {
  const state = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
  if (state === 'inactive') {
    await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    initialisedSwarm = true;
  }
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': config('swarm'), 'auto-config.yml': config('auto') });
});

afterAll(async () => {
  for (const name of await stackServices().catch(() => [])) await docker('service', 'rm', name).catch(() => '');
  // Task containers go shortly after their service; wait so no engine state outlives the file.
  for (let i = 0; i < 50; i++) {
    const left = await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${project}`).catch(() => '');
    if (!left) break;
    await systemClock.sleep(200);
  }
  if (initialisedSwarm) await docker('swarm', 'leave', '--force');
  const connection = await amqp.connect(BROKER_URL);
  const channel = await connection.createChannel();
  for (const queue of [QUEUE, `${QUEUE}.dlq`]) await channel.deleteQueue(queue);
  await connection.close();
}, 120_000);

describe('qscale on a Swarm', () => {
  it('up creates one service per worker service, as docker stack sees a stack', async () => {
    const up = await qscale(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(`worker: create ${service('worker')} replicas 0 → 1 (image qscale/worker:local)`);
    expect(up.stderr).toMatch(new RegExp(`✔ Service ${service('talker')}  1 running`));
    expect(await stackServices()).toEqual([service('talker'), service('worker')]);
    expect((await docker('stack', 'services', project, '--format', '{{.Name}} {{.Replicas}}')).split('\n').sort()).toEqual([`${service('talker')} 1/1`, `${service('worker')} 1/1`]);
    expect(await runningTasks('talker')).toEqual([`${service('talker')}.1`]);

    const spec = JSON.parse(await docker('service', 'inspect', service('talker'), '--format', '{{json .Spec}}'));
    expect(spec.Labels).toMatchObject({ 'com.docker.stack.namespace': project, 'com.docker.stack.image': 'qscale/node-base:local' });
    expect(spec.Labels['io.qscale.spec-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(spec.TaskTemplate.ContainerSpec).toMatchObject({
      Image: 'qscale/node-base:local',
      Labels: { team: 'qscale-tests', 'com.docker.stack.namespace': project },
      Args: ['node', '-e', expect.stringContaining('tick')],
      Init: true,
      StopGracePeriod: 2_000_000_000,
    });
    // The task's container runs on the host network.
    const [container] = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service('talker')}`)).split('\n');
    expect(await docker('inspect', container, '--format', '{{.HostConfig.NetworkMode}}')).toBe('host');

    // The second up finds every service as wanted.
    const again = await qscale(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('talker: already at 1');
  });

  it('scales up and down and waits until the tasks run or have stopped', async () => {
    const up = await qscale(['scale', 'talker', '3']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(`talker: update ${service('talker')} replicas 1 → 3`);
    // Converged means running, right when the command returns.
    expect(await runningTasks('talker')).toEqual([1, 2, 3].map((slot) => `${service('talker')}.${slot}`));
    expect(await runningContainers('talker')).toBe(3);

    const down = await qscale(['scale', 'talker', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect(await runningTasks('talker')).toEqual([`${service('talker')}.1`]);
    expect(await runningContainers('talker')).toBe(1);
  });

  it('dry run prints the update and changes nothing; limits are refused as on Compose', async () => {
    const dry = await qscale(['scale', 'talker', '2', '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stdout: `update ${service('talker')} replicas 1 → 2\n` });
    expect(await docker('service', 'inspect', service('talker'), '--format', '{{.Spec.Mode.Replicated.Replicas}}')).toBe('1');

    const over = await qscale(['scale', 'talker', '4']);
    expect(over).toEqual({ code: 2, stdout: '', stderr: 'error: talker: 4 replicas exceeds its max_replicas (3); nothing changed\n' });
    expect(await docker('service', 'inspect', service('talker'), '--format', '{{.Spec.Mode.Replicated.Replicas}}')).toBe('1');
  });

  it('a task that fails to start fails the scale with its error (exit 1)', async () => {
    const result = await qscale(['scale', 'crasher', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${service('crasher')}: task ${service('crasher')}.1 failed to start: task: non-zero exit (3)`);
  });

  it('an update with a stale version is refused by the engine and retried by the backend', async () => {
    const engine = new Docker();
    const api = new DockerSwarmApi(engine, 'unix:///var/run/docker.sock');
    const stale = (await api.inspectService(service('talker')))!;
    await docker('service', 'update', '--detach', '--label-add', 'touched=1', service('talker'));
    await expect(api.updateService(stale.id, stale.version, stale.spec)).rejects.toBeInstanceOf(SwarmVersionConflictError);

    // Another client updates the service between the backend's inspect and its update.
    let raced = false;
    const racing: SwarmApi = Object.assign(Object.create(api) as DockerSwarmApi, {
      updateService: async (id: string, version: number, spec: Parameters<SwarmApi['updateService']>[2]) => {
        if (!raced) {
          raced = true;
          await docker('service', 'update', '--detach', '--label-add', 'touched=2', id);
        }
        return api.updateService(id, version, spec);
      },
    });
    const events: FleetEvent[] = [];
    const backend = new SwarmBackend(loadConfig({ cwd: dir, env: {} }), {
      swarm: racing,
      engine: { containerStats: async () => undefined },
      clock: systemClock,
      onEvent: (event) => events.push(event),
    });
    const talker = backend.config.workers.find((worker) => worker.name === 'talker')!;
    const [outcome] = await backend.scale([{ worker: talker, desired: 2 }]);
    expect(raced).toBe(true);
    expect(outcome).toMatchObject({ before: 1, after: 2 });
    expect(events.filter((event) => event.type === 'notice').map((event) => event.type === 'notice' && event.message)).toEqual([
      expect.stringMatching(new RegExp(`^${service('talker')} was updated meanwhile \\(version \\d+\\); inspecting again$`)),
    ]);
    expect(await runningTasks('talker')).toHaveLength(2);
    // The other client's change stayed: only the count was ours.
    expect(await docker('service', 'inspect', service('talker'), '--format', '{{index .Spec.Labels "touched"}}')).toBe('2');
  });

  it('ps shows tasks with their node and slot, status the counts, and auto-detection finds the stack', async () => {
    const node = await docker('node', 'ls', '--format', '{{.Hostname}}');
    const ps = await qscale(['ps', '--json', 'talker']);
    expect(ps.code, ps.stderr).toBe(0);
    const rows = JSON.parse(ps.stdout) as Array<Record<string, unknown>>;
    expect(rows.filter((row) => row.desiredState === 'running').map((row) => [row.name, row.service, row.number, row.node, row.state, row.createdBy])).toEqual([
      [`${service('talker')}.1`, 'talker', 1, node, 'running', 'qscale'],
      [`${service('talker')}.2`, 'talker', 2, node, 'running', 'qscale'],
    ]);

    const table = await qscale(['-c', 'auto-config.yml', 'ps', 'talker']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/NODE\s+DESIRED/);
    expect(table.stdout).toContain(`${service('talker')}.2`);

    const status = await qscale(['-c', 'auto-config.yml', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.backend).toBe('swarm');
    expect(parsed.services.find((entry: { service: string }) => entry.service === 'talker')).toMatchObject({ running: 2, desired: 2 });
  });

  it('logs -f follows every task, also one started after it began', async () => {
    const controller = new AbortController();
    const following = qscale(['logs', '-f', '--tail', '2', 'talker'], controller.signal);
    await systemClock.sleep(1_500);
    expect((await qscale(['scale', 'talker', '3'])).code).toBe(0);
    await systemClock.sleep(2_000);
    controller.abort();
    const result = await following;
    expect(result.code).toBe(130);
    const lines = result.stdout.split('\n');
    for (const slot of [1, 2, 3]) expect(lines.some((line) => new RegExp(`^talker\\.${slot}\\s+\\| tick \\d+$`).test(line)), `talker.${slot} in\n${result.stdout}`).toBe(true);
  });

  it('runs a load test against the Swarm workers: every task completed', async () => {
    const scaled = await qscale(['scale', 'worker', '2']);
    expect(scaled.code, scaled.stderr).toBe(0);
    await expectConsumers(BROKER_URL, QUEUE, 2);
    const result = await qscale(['load-test', '--tasks', '20', '--queue', QUEUE, '--task-ms', '5', '--json', '--max-lost', '0']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.overall).toMatchObject({ sent: 20, completed: 20, failed: 0, lost: 0, duplicates: 0 });
  });

  it("down removes the stack's services and only them", async () => {
    const bystander = `${project}-bystander`;
    await docker('service', 'create', '--detach', '--name', bystander, '--network', 'host', '--label', `com.docker.stack.namespace=${project}-other`, 'qscale/node-base:local', 'node', '-e', 'setInterval(() => {}, 1000)');
    try {
      const down = await qscale(['down', '--json']);
      expect(down.code, down.stderr).toBe(0);
      expect(JSON.parse(down.stdout).removed.sort()).toEqual([service('crasher'), service('talker'), service('worker')]);
      expect(await stackServices()).toEqual([]);
      expect(await docker('service', 'ls', '--filter', `name=${bystander}`, '--format', '{{.Name}}')).toBe(bystander);
    } finally {
      await docker('service', 'rm', bystander);
    }
  });
});
