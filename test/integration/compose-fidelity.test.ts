import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, execFileAsync, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

/**
 * The same service, started once by docker-compose and once by `qscale scale`: `docker inspect`
 * must agree on every field the service definition controls. Two project names keep them apart.
 */
const SERVICE = `version: "2.4"
services:
  w:
    image: qscale/worker:local
    entrypoint: ["node", "-e", "setInterval(() => {}, 1000)"]
    network_mode: host
    init: true
    user: "1000:1000"
    hostname: fidelity-box
    domainname: example.test
    tty: true
    stdin_open: true
    working_dir: /tmp
    stop_signal: SIGINT
    stop_grace_period: 7s
    restart: on-failure:3
    environment:
      A: "1"
    labels:
      team: queue
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    privileged: false
    read_only: true
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /run:size=16m
      - /var/cache
    ulimits:
      nproc: 512
      nofile:
        soft: 1024
        hard: 2048
    shm_size: 32m
    pids_limit: 100
    group_add: ["1234"]
    oom_score_adj: 100
    cpu_shares: 512
    cpus: 0.5
    mem_limit: 256m
    mem_reservation: 128m
    logging:
      driver: json-file
      options:
        max-size: 10m
    healthcheck:
      test: ["CMD", "node", "-e", "process.exit(0)"]
      interval: 10s
      timeout: 5s
      retries: 3
      start_period: 5s
`;

/** The HostConfig fields the service above sets, and the Config fields it sets. */
const HOST_FIELDS = [
  'CapAdd', 'CapDrop', 'Privileged', 'ReadonlyRootfs', 'SecurityOpt', 'Tmpfs', 'Ulimits', 'ShmSize', 'PidsLimit', 'GroupAdd',
  'OomScoreAdj', 'CpuShares', 'NanoCpus', 'Memory', 'MemoryReservation', 'MemorySwap', 'LogConfig', 'Init', 'NetworkMode', 'RestartPolicy',
];
const CONFIG_FIELDS = ['Image', 'Entrypoint', 'Cmd', 'User', 'WorkingDir', 'StopSignal', 'StopTimeout', 'Healthcheck', 'Hostname', 'Domainname', 'Tty', 'OpenStdin'];

describe('a service started by qscale and by docker-compose', () => {
  const composeProject = uniqueName('fidelity-compose');
  const qscaleProject = uniqueName('fidelity-qscale');
  let dir: string;
  let byCompose: { HostConfig: Record<string, unknown>; Config: Record<string, unknown> };
  let byQscale: typeof byCompose;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'qscale-fidelity-'));
    writeFileSync(path.join(dir, 'docker-compose.yml'), SERVICE);
    writeFileSync(path.join(dir, 'test-config.yml'), 'workers:\n  w:\n    queue: fidelity\n    max_replicas: 1\n');
    await execFileAsync('docker-compose', ['-p', composeProject, 'up', '-d'], { cwd: dir, timeout: 120_000 });
    const scaled = await qscale(dir, '-p', qscaleProject, 'scale', 'w', '1');
    expect(scaled).toMatchObject({ code: 0 });
    const inspect = async (project: string) => {
      const id = await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`);
      return JSON.parse(await docker('inspect', id))[0];
    };
    byCompose = await inspect(composeProject);
    byQscale = await inspect(qscaleProject);
  });

  afterAll(async () => {
    await removeProjectContainers(composeProject);
    await removeProjectContainers(qscaleProject);
  });

  it.each(HOST_FIELDS)('HostConfig.%s agrees', (field) => {
    expect(byCompose.HostConfig[field]).toBeDefined();
    expect(byQscale.HostConfig[field]).toEqual(byCompose.HostConfig[field]);
  });

  it.each(CONFIG_FIELDS)('Config.%s agrees', (field) => {
    expect(byQscale.Config[field]).toEqual(byCompose.Config[field]);
  });

  it('the environment and labels the file sets agree (qscale adds only its stop-timeout variable and its own labels)', () => {
    const env = (config: Record<string, unknown>) => (config.Env as string[]).filter((entry) => !entry.startsWith('QSCALE_')).sort();
    expect(env(byQscale.Config)).toEqual(env(byCompose.Config));
    expect((byQscale.Config.Labels as Record<string, string>).team).toBe('queue');
    expect((byCompose.Config.Labels as Record<string, string>).team).toBe('queue');
  });
});
