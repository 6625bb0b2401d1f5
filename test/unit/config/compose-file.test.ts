import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadComposeFile, type LoadComposeOptions } from '../../../src/core/config/compose-file.js';
import { levenshtein, suggestKey } from '../../../src/core/config/compose-keys.js';
import { runCli } from '../../support/cli-harness.js';
import { FakeEngine } from '../../support/fake-engine.js';

/** Writes files into a fresh folder; returns its path. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qscale-compose-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function load(dir: string, files: string[] = ['compose.yaml'], env: Record<string, string> = {}, options: LoadComposeOptions = {}) {
  return loadComposeFile(
    files.map((file) => path.join(dir, file)),
    env,
    undefined,
    { displayNames: files, ...options },
  );
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const worker = (extra = '') => `services:\n  w:\n    image: img\n${extra}`;

describe('keys Compose does not know', () => {
  it.each([
    ['    enviroment:\n      A: "1"\n', 'compose.yaml: services.w.enviroment: unknown key "enviroment"; did you mean "environment"? (line 4)'],
    ['    stop_grace_perod: 10s\n', 'compose.yaml: services.w.stop_grace_perod: unknown key "stop_grace_perod"; did you mean "stop_grace_period"? (line 4)'],
    ['    helthcheck:\n      test: ["CMD", "true"]\n', 'compose.yaml: services.w.helthcheck: unknown key "helthcheck"; did you mean "healthcheck"? (line 4)'],
    ['    zzzzzz: 1\n', 'compose.yaml: services.w.zzzzzz: unknown key "zzzzzz" (line 4)'],
  ])('%j is an error naming file, path, line and the nearest key', (extra, message) => {
    expect(errorOf(() => load(project({ 'compose.yaml': worker(extra) }))).message).toBe(message);
  });

  it.each([
    ['    healthcheck:\n      test: ["CMD", "true"]\n      intreval: 5s\n', 'compose.yaml: services.w.healthcheck.intreval: unknown key "intreval"; did you mean "interval"? (line 6)'],
    ['    deploy:\n      resources:\n        limits:\n          memroy: 1g\n', 'compose.yaml: services.w.deploy.resources.limits.memroy: unknown key "memroy"; did you mean "memory"? (line 7)'],
    ['    ulimits:\n      nofile:\n        sotf: 1\n        hard: 2\n', 'compose.yaml: services.w.ulimits.nofile.sotf: unknown key "sotf"; did you mean "soft"? (line 6)'],
    ['    volumes:\n      - type: bind\n        source: ./a\n        taget: /a\n', 'compose.yaml: services.w.volumes[0].taget: unknown key "taget"; did you mean "target"? (line 7)'],
    ['    depends_on:\n      w:\n        conditon: service_started\n', 'compose.yaml: services.w.depends_on.w.conditon: unknown key "conditon"; did you mean "condition"? (line 6)'],
  ])('a misspelt key inside a service mapping is an error too: %j', (extra, message) => {
    expect(errorOf(() => load(project({ 'compose.yaml': worker(extra) }))).message).toBe(message);
  });

  it('refuses an unknown top-level key, and accepts x- extensions anywhere', () => {
    expect(errorOf(() => load(project({ 'compose.yaml': `servics:\n  w:\n    image: img\n` }))).message).toBe(
      'compose.yaml: servics: unknown key "servics"; did you mean "services"? (line 1)',
    );
    expect(load(project({ 'compose.yaml': `x-common: &c\n  image: img\nservices:\n  w:\n    <<: *c\n    x-note: mine\n` })).services.get('w')?.image).toBe('img');
  });

  it('suggests by edit distance, only when near', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(suggestKey('comand', ['command', 'image'])).toBe('command');
    expect(suggestKey('banana', ['command', 'image'])).toBeUndefined();
  });
});

describe('keys qscale cannot honour', () => {
  it.each([
    ['    networks: [backend]\n', 'compose.yaml: services.w.networks: "networks" is not supported: qscale attaches containers to network_mode or the project\'s default network only; use network_mode (line 4)'],
    ['    expose: ["80"]\n', 'compose.yaml: services.w.expose: "expose" is not supported: qscale does not record exposed ports; workers use host networking (line 4)'],
    ['    volumes: [data:/data]\n', 'compose.yaml: services.w.volumes[0]: named volume "data" is not supported; use a bind mount (line 4)'],
    ['    pull_policy: always\n', 'compose.yaml: services.w.pull_policy: pull_policy "always" is not supported: qscale never pulls; a missing image is an error (line 4)'],
  ])('%j is refused with its reason', (extra, message) => {
    expect(errorOf(() => load(project({ 'compose.yaml': worker(extra) }))).message).toBe(message);
  });

  it.each([
    ['    healthcheck:\n      test: ["CMD", "true"]\n      start_interval: 1s\n', 'compose.yaml: services.w.healthcheck.start_interval: "start_interval" is not supported: start_interval needs Docker Engine 25; qscale does not set it (line 6)'],
    ['    deploy:\n      resources:\n        reservations:\n          devices: [{capabilities: [gpu]}]\n', 'compose.yaml: services.w.deploy.resources.reservations.devices: "devices" is not supported: qscale does not reserve devices (GPUs) (line 7)'],
    ['    volumes:\n      - type: bind\n        source: ./a\n        target: /a\n        bind:\n          propagation: rshared\n', 'compose.yaml: services.w.volumes[0].bind: "bind" is not supported: bind options (propagation, create_host_path, selinux) are not applied by qscale (line 8)'],
  ])('a nested key qscale cannot honour is refused: %j', (extra, message) => {
    expect(errorOf(() => load(project({ 'compose.yaml': worker(extra) }))).message).toBe(message);
  });

  it('refuses them only in the services qscale creates; others keep the reason', () => {
    const dir = project({ 'compose.yaml': `${worker()}  db:\n    image: postgres\n    volumes: [data:/var/lib/postgresql]\n    networks: [backend]\n` });
    const compose = load(dir, ['compose.yaml'], {}, { workers: ['w'] });
    expect(compose.services.get('w')?.unsupported).toBeUndefined();
    expect(compose.services.get('db')?.unsupported).toBe('compose.yaml: services.db.networks: "networks" is not supported: qscale attaches containers to network_mode or the project\'s default network only; use network_mode (line 7)');
    expect(errorOf(() => load(dir, ['compose.yaml'], {}, { workers: ['w', 'db'] })).message).toContain('services.db.networks');
  });

  it('refuses a top-level key it cannot honour', () => {
    expect(errorOf(() => load(project({ 'compose.yaml': `models:\n  m: {}\n${worker()}` }))).message).toBe('compose.yaml: models: "models" is not supported: qscale does not provide models (line 1)');
  });
});

describe('engine settings a service applies', () => {
  it('maps privilege, limit and tmpfs keys onto HostConfig fields', () => {
    const compose = load(
      project({
        'compose.yaml': worker(`    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    privileged: false
    read_only: true
    security_opt: ["no-new-privileges:true"]
    sysctls:
      net.core.somaxconn: 1024
    tmpfs:
      - /tmp
      - /run:size=64m
    ulimits:
      nproc: 512
      nofile:
        soft: 1024
        hard: 2048
    shm_size: 64m
    pids_limit: 100
    extra_hosts: ["db:127.0.0.1"]
    group_add: [audio, 1000]
    oom_score_adj: 100
    devices: ["/dev/null:/dev/mynull:r"]
    logging:
      driver: json-file
      options:
        max-size: 10m
    cpu_shares: 512
    mem_reservation: 128m
`),
      }),
    );
    expect(compose.services.get('w')?.hostOptions).toEqual({
      CapDrop: ['ALL'],
      CapAdd: ['NET_BIND_SERVICE'],
      Privileged: false,
      ReadonlyRootfs: true,
      SecurityOpt: ['no-new-privileges:true'],
      Sysctls: { 'net.core.somaxconn': '1024' },
      Tmpfs: { '/tmp': '', '/run': 'size=64m' },
      Ulimits: [
        { Name: 'nproc', Soft: 512, Hard: 512 },
        { Name: 'nofile', Soft: 1024, Hard: 2048 },
      ],
      ShmSize: 64 * 1024 ** 2,
      PidsLimit: 100,
      ExtraHosts: ['db:127.0.0.1'],
      GroupAdd: ['audio', '1000'],
      OomScoreAdj: 100,
      Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'r' }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
      CpuShares: 512,
      MemoryReservation: 128 * 1024 ** 2,
    });
  });

  it('sets none when the service sets none (the container hash stays as it was)', () => {
    expect(load(project({ 'compose.yaml': worker() })).services.get('w')).toMatchObject({ hostOptions: undefined, containerOptions: undefined });
  });

  it('maps hostname, domainname, tty and stdin_open onto the container Config', () => {
    const service = load(project({ 'compose.yaml': worker('    hostname: box\n    domainname: example.test\n    tty: true\n    stdin_open: false\n') })).services.get('w');
    expect(service?.containerOptions).toEqual({ Hostname: 'box', Domainname: 'example.test', Tty: true, OpenStdin: false });
  });

  it('mounts file secrets at /run/secrets and file configs at /<name>, read-only', () => {
    const dir = project({
      'compose.yaml': `${worker('    secrets: [broker_password, {source: api_key, target: key}]\n    configs: [settings]\n')}secrets:\n  broker_password:\n    file: ./secrets/password.txt\n  api_key:\n    file: /etc/key\nconfigs:\n  settings:\n    file: ./settings.json\n`,
    });
    expect(load(dir).services.get('w')?.binds).toEqual([`${dir}/secrets/password.txt:/run/secrets/broker_password:ro`, '/etc/key:/run/secrets/key:ro', `${dir}/settings.json:/settings:ro`]);
  });

  it('names a misspelt key of a top-level secret', () => {
    const dir = project({ 'compose.yaml': `${worker('    secrets: [token]\n')}secrets:\n  token:\n    fiel: ./token.txt\n` });
    expect(errorOf(() => load(dir)).message).toBe('compose.yaml: secrets.token.fiel: unknown key "fiel"; did you mean "file"? (line 7)');
  });

  it('refuses a secret that is not a file, and one not declared', () => {
    const fromEnv = project({ 'compose.yaml': `${worker('    secrets: [token]\n')}secrets:\n  token:\n    environment: TOKEN\n` });
    expect(errorOf(() => load(fromEnv)).message).toBe('compose.yaml: services.w.secrets[0]: secret "token" is not supported: only file: secrets can be mounted by qscale (line 4)');
    const undeclared = project({ 'compose.yaml': worker('    secrets: [token]\n') });
    expect(errorOf(() => load(undeclared)).message).toBe('compose.yaml: services.w.secrets[0]: secret "token" is not declared under the top-level secrets: (line 4)');
  });
});

describe('several files, merged as Compose merges them', () => {
  const base = `services:
  w:
    image: img:1
    command: ["node", "a.js"]
    environment:
      A: "1"
      B: "1"
    labels: [x=1]
    cap_add: [CHOWN]
    volumes: ["./a:/data", "./logs:/logs"]
`;
  const override = `services:
  w:
    image: img:2
    command: ["node", "b.js"]
    environment: [B=2, C=3]
    labels:
      y: "2"
    cap_add: [NET_ADMIN]
    volumes: ["./b:/data"]
`;

  it('expands ~ in a bind source with the HOME of the environment it is given, not the process', () => {
    const dir = project({ 'compose.yaml': 'services:\n  w:\n    image: img\n    volumes: ["~/data:/data:ro"]\n' });
    expect(load(dir, ['compose.yaml'], { HOME: '/home/given' }).services.get('w')?.binds).toEqual(['/home/given/data:/data:ro']);
  });

  it('later files win on scalars, merge mappings, replace commands, append lists and merge volumes by target', () => {
    const dir = project({ 'compose.yaml': base, 'override.yaml': override });
    const service = load(dir, ['compose.yaml', 'override.yaml']).services.get('w');
    expect(service).toMatchObject({ image: 'img:2', command: ['node', 'b.js'], environment: { A: '1', B: '2', C: '3' }, labels: { x: '1', y: '2' } });
    expect(service?.hostOptions?.CapAdd).toEqual(['CHOWN', 'NET_ADMIN']);
    expect(service?.binds).toEqual([`${dir}/b:/data`, `${dir}/logs:/logs`]);
  });

  it('honours !reset (the later file removes a value) and !override (it replaces one unmerged)', () => {
    const dir = project({
      'compose.yaml': base,
      'override.yaml': `services:\n  w:\n    labels: !reset []\n    environment: !override\n      ONLY: "this"\n    volumes: !override ["./c:/other"]\n    cap_add:\n      - !reset\n`,
    });
    const service = load(dir, ['compose.yaml', 'override.yaml']).services.get('w');
    expect(service).toMatchObject({ labels: {}, environment: { ONLY: 'this' }, binds: [`${dir}/c:/other`] });
    expect(service?.hostOptions?.CapAdd).toEqual(['CHOWN']);
    const unset = project({ 'compose.yaml': base, 'override.yaml': 'services:\n  w:\n    environment:\n      A: !reset null\n' });
    expect(load(unset, ['compose.yaml', 'override.yaml']).services.get('w')?.environment).toEqual({ B: '1' });
  });

  it('locates an error in the file that wrote the value', () => {
    const dir = project({ 'compose.yaml': base, 'override.yaml': 'services:\n  w:\n    stop_grace_period: soon\n' });
    expect(errorOf(() => load(dir, ['compose.yaml', 'override.yaml'])).message).toBe('override.yaml: services.w.stop_grace_period: "soon" is not a duration (examples: 10s, 1m30s, 500ms) (line 3)');
    const typed = project({ 'compose.yaml': base, 'override.yaml': 'services:\n  w:\n    init: maybe\n' });
    expect(errorOf(() => load(typed, ['compose.yaml', 'override.yaml'])).message).toBe('override.yaml: services.w.init: expected boolean, got "maybe" (line 3)');
  });
});

describe('extends', () => {
  it('merges a service of the same file under the extending one', () => {
    const dir = project({ 'compose.yaml': `services:\n  base:\n    image: img\n    environment: {A: "1", B: "1"}\n  w:\n    extends: base\n    environment: {B: "2"}\n` });
    expect(load(dir).services.get('w')).toMatchObject({ image: 'img', environment: { A: '1', B: '2' } });
  });

  it('takes a service of another file, with its relative paths rebased to that file', () => {
    const dir = project({
      'compose.yaml': `services:\n  w:\n    extends:\n      file: common/base.yaml\n      service: worker\n    init: true\n`,
      'common/base.yaml': `services:\n  worker:\n    image: img\n    env_file: worker.env\n    volumes: ["./data:/data"]\n`,
      'common/worker.env': 'FROM_FILE=yes\n',
    });
    expect(load(dir).services.get('w')).toMatchObject({ image: 'img', init: true, environment: { FROM_FILE: 'yes' }, binds: [`${dir}/common/data:/data`] });
  });

  it('follows chains, and names a missing service or a cycle', () => {
    const chain = project({ 'compose.yaml': `services:\n  a:\n    image: img\n    user: app\n  b:\n    extends: a\n  w:\n    extends: {service: b}\n` });
    expect(load(chain).services.get('w')).toMatchObject({ image: 'img', user: 'app' });
    const missing = project({ 'compose.yaml': `services:\n  w:\n    extends: nowhere\n` });
    expect(errorOf(() => load(missing)).message).toBe('compose.yaml: services.w.extends: extends service "nowhere", which is not defined in compose.yaml (line 3)');
    const cycle = project({ 'compose.yaml': `services:\n  a:\n    extends: w\n  w:\n    extends: a\n` });
    expect(errorOf(() => load(cycle)).message).toBe('compose.yaml: services.a.extends: extends forms a cycle: a → w → a (line 3)');
  });
});

describe('profiles and depends_on', () => {
  const file = `services:\n  w:\n    image: img\n    depends_on: [broker]\n  broker:\n    image: rabbitmq\n    profiles: [broker]\n  debug:\n    image: img\n    profiles: [debug, broker]\n`;

  it('leaves out services of inactive profiles, and takes COMPOSE_PROFILES or --profile', () => {
    const dir = project({ 'compose.yaml': file });
    const none = load(dir);
    expect([...none.services.keys()]).toEqual(['w']);
    expect([...none.inactiveServices]).toEqual([
      ['broker', ['broker']],
      ['debug', ['debug', 'broker']],
    ]);
    expect([...load(dir, ['compose.yaml'], { COMPOSE_PROFILES: 'debug' }).services.keys()]).toEqual(['w', 'debug']);
    expect([...load(dir, ['compose.yaml'], {}, { profiles: ['broker'] }).services.keys()]).toEqual(['w', 'broker', 'debug']);
  });

  it('is an error for a worker service whose profile is inactive', () => {
    const dir = project({ 'compose.yaml': file });
    expect(errorOf(() => load(dir, ['compose.yaml'], {}, { workers: ['w', 'broker'] })).message).toBe(
      'compose.yaml: services.broker.profiles: worker service "broker" runs only with profile broker, which is not active; set COMPOSE_PROFILES=broker (line 7)',
    );
  });

  it('accepts depends_on on defined services and names an undefined one', () => {
    expect(load(project({ 'compose.yaml': file })).services.get('w')?.image).toBe('img');
    const dir = project({ 'compose.yaml': worker('    depends_on:\n      brokr:\n        condition: service_healthy\n') });
    expect(errorOf(() => load(dir)).message).toBe('compose.yaml: services.w.depends_on: depends on service "brokr", which is not defined (line 4)');
  });
});

describe('variables', () => {
  it('interpolates from the environment over .env, and lists unset variables once', () => {
    const dir = project({ 'compose.yaml': worker('    environment:\n      A: ${A}\n      B: ${B:-${C:-fallback}}\n      D: ${MISSING}${MISSING}\n'), '.env': 'A=from-dotenv # comment\nC="quoted"\n' });
    const compose = load(dir, ['compose.yaml'], { A: 'from-env' });
    expect(compose.services.get('w')?.environment).toEqual({ A: 'from-env', B: 'quoted', D: '' });
    expect(compose.dotEnv).toEqual({ A: 'from-dotenv', C: 'quoted' });
    expect(compose.warnings).toEqual(['the "MISSING" variable is not set; defaulting to a blank string']);
  });

  it('names the .env line Compose would refuse', () => {
    const dir = project({ 'compose.yaml': worker(), '.env': 'OK=1\nBAD="open\n' });
    expect(errorOf(() => load(dir)).message).toBe(`${dir}/.env: line 2: unterminated quoted value for BAD`);
  });
});

describe('ports', () => {
  it('are refused without host networking (qscale publishes none) and accepted with it (the engine discards them)', () => {
    expect(errorOf(() => load(project({ 'compose.yaml': worker('    ports: ["8080:80"]\n') }))).message).toBe(
      'compose.yaml: services.w.ports: published ports are not supported: qscale does not publish ports; use network_mode: host (line 4)',
    );
    expect(load(project({ 'compose.yaml': worker('    network_mode: host\n    ports: ["8080:80"]\n') })).services.get('w')?.ports).toEqual(['8080:80']);
  });
});

describe('at the prompt', () => {
  const config = 'workers:\n  w:\n    queue: q\n';

  it('a misspelt key exits 2 with one line, before Docker is contacted', async () => {
    const dir = project({ 'test-config.yml': config, 'compose.yaml': worker('    enviroment:\n      A: "1"\n') });
    // Records every engine method called, reads included.
    const touched: string[] = [];
    const fake = new FakeEngine(() => 0, ['img']);
    const engine = new Proxy(fake, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (...args: unknown[]) => (touched.push(String(key)), value.apply(target, args)) : value;
      },
    });
    const result = await runCli(['scale', 'w', '1', '--dry-run'], { cwd: dir, engine });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: compose.yaml: services.w.enviroment: unknown key "enviroment"; did you mean "environment"? (line 4)\n' });
    expect(touched).toEqual([]);
  });

  it('-f is repeatable, and an unset variable is warned about once', async () => {
    const dir = project({ 'test-config.yml': config, 'base.yaml': worker('    user: ${WORKER_USER}\n    working_dir: ${WORKER_USER}\n'), 'more.yaml': 'services:\n  w:\n    image: other\n' });
    const result = await runCli(['-f', 'base.yaml', '-f', 'more.yaml', 'scale', 'w', '1', '--dry-run'], { cwd: dir, engine: new FakeEngine(() => 0, ['other']) });
    expect(result).toMatchObject({ code: 0, stderr: 'warning: the "WORKER_USER" variable is not set; defaulting to a blank string\n' });
    expect(result.stdout).toContain('(image other)');
  });

  it('--profile activates a worker service of a profile', async () => {
    const dir = project({ 'test-config.yml': config, 'compose.yaml': worker('    profiles: [batch]\n') });
    const inactive = await runCli(['scale', 'w', '1', '--dry-run'], { cwd: dir, engine: new FakeEngine(() => 0, ['img']) });
    expect(inactive).toMatchObject({ code: 2, stderr: 'error: compose.yaml: services.w.profiles: worker service "w" runs only with profile batch, which is not active; set COMPOSE_PROFILES=batch (line 4)\n' });
    const active = await runCli(['--profile', 'batch', 'scale', 'w', '1', '--dry-run'], { cwd: dir, engine: new FakeEngine(() => 0, ['img']) });
    expect(active).toMatchObject({ code: 0 });
  });
});

describe('include', () => {
  it('takes in the services of another model, its relative paths and .env from its own folder', () => {
    const dir = project({
      'compose.yaml': `include:\n  - lib/workers.yaml\n${worker()}`,
      'lib/workers.yaml': `services:\n  extra:\n    image: \${EXTRA_IMAGE}\n    env_file: extra.env\n    volumes: ["./data:/data"]\n    secrets: [token]\n  derived:\n    extends: extra\n    user: app\nsecrets:\n  token:\n    file: token.txt\n`,
      'lib/.env': 'EXTRA_IMAGE=extra:1\n',
      'lib/extra.env': 'FROM=lib\n',
    });
    const compose = load(dir);
    expect([...compose.services.keys()].sort()).toEqual(['derived', 'extra', 'w']);
    expect(compose.services.get('extra')).toMatchObject({
      image: 'extra:1',
      environment: { FROM: 'lib' },
      binds: [`${dir}/lib/data:/data`, `${dir}/lib/token.txt:/run/secrets/token:ro`],
    });
    expect(compose.services.get('derived')).toMatchObject({ image: 'extra:1', user: 'app' });
  });

  it('names a service defined twice, a missing file, a cycle and a misspelt key', () => {
    const twice = project({ 'compose.yaml': `include: [other.yaml]\n${worker()}`, 'other.yaml': worker() });
    expect(errorOf(() => load(twice)).message).toBe('compose.yaml: include[0]: service "w" of other.yaml is already defined (line 1)');
    const missing = project({ 'compose.yaml': `include:\n  - path: nowhere.yaml\n${worker()}` });
    expect(errorOf(() => load(missing)).message).toBe('compose.yaml: include[0]: included file nowhere.yaml not found (line 2)');
    const cycle = project({ 'compose.yaml': `include: [a.yaml]\n${worker()}`, 'a.yaml': 'include: [compose.yaml]\nservices: {}\n' });
    expect(errorOf(() => load(cycle)).message).toBe('a.yaml: include[0]: including compose.yaml forms a cycle (line 1)');
    const typo = project({ 'compose.yaml': `include:\n  - pth: other.yaml\n${worker()}` });
    expect(errorOf(() => load(typo)).message).toBe('compose.yaml: include[0].pth: unknown key "pth"; did you mean "path"? (line 2)');
  });
});
