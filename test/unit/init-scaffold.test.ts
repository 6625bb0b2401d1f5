import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QscaleError } from '../../src/core/errors.js';
import { findTemplatesDir, planScaffold, projectNameFor, readTemplates } from '../../src/core/init/scaffold.js';
import { runCli } from '../support/cli-harness.js';
import { FakeEngine } from '../support/fake-engine.js';

const TEMPLATES = [
  { path: 'test-config.yml', content: 'c' },
  { path: 'worker/src/main.ts', content: 'm' },
];

describe('planScaffold', () => {
  it('creates every file into an empty folder', () => {
    const plan = planScaffold('/p', TEMPLATES, () => false);
    expect(plan.files.map((file) => `${file.action} ${file.path}`)).toEqual(['create test-config.yml', 'create worker/src/main.ts']);
  });

  it('refuses, naming the files, when any already exists', () => {
    const exists = (file: string) => file === path.join('/p', 'worker/src/main.ts');
    let thrown: unknown;
    try {
      planScaffold('/p', TEMPLATES, exists);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(QscaleError);
    expect(thrown).toMatchObject({ code: 'USAGE', message: '/p already has worker/src/main.ts; nothing was written', hint: 'pass --force to overwrite them' });
  });

  it('overwrites existing files with force', () => {
    const plan = planScaffold('/p', TEMPLATES, () => true, { force: true });
    expect(plan.files.map((file) => file.action)).toEqual(['overwrite', 'overwrite']);
  });
});

describe('projectNameFor', () => {
  it.each([
    ['/work/My Fleet', 'myfleet'],
    ['/work/orders_v2', 'orders_v2'],
    ['/work/-x', 'x'],
  ])('%s → %s, as Compose derives a project name from a folder', (dir, name) => {
    expect(projectNameFor(dir)).toBe(name);
  });

  it('takes --name, and refuses an invalid one or a folder with nothing usable', () => {
    expect(projectNameFor('/work/x', 'orders')).toBe('orders');
    expect(() => projectNameFor('/work/x', 'Orders!')).toThrow('--name: "Orders!" is not a valid project name');
    expect(() => projectNameFor('/work/###')).toThrow('cannot derive a project name from folder "/work/###"');
  });
});

describe('readTemplates', () => {
  const templates = readTemplates(findTemplatesDir(import.meta.url), { project: 'orders', qscaleSpec: '^9.9.9' });
  const byPath = new Map(templates.map((file) => [file.path, file.content]));
  const makefile = byPath.get('Makefile') ?? '';

  it('has the config, compose file, .env, README, Makefile, package.json, Dockerfile and the whole worker source', () => {
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining(['test-config.yml', 'docker-compose.yml', '.env', 'README.md', 'Makefile', 'package.json', 'Dockerfile', 'worker/src/main.ts', 'worker/src/protocol.ts', 'worker/src/consumer.ts']),
    );
    expect(JSON.parse(byPath.get('package.json') ?? '')).toMatchObject({ name: 'orders', dependencies: { amqplib: expect.any(String) }, devDependencies: { qscale: '^9.9.9' } });
    for (const [file, content] of byPath) expect(content, file).not.toContain('{{');
  });

  it('writes a Makefile with no absolute path, whose default target only prints help', () => {
    expect(makefile).toContain('QSCALE ?= npx qscale\n');
    expect(makefile).toContain('QSCALE_SCRIPTS ?= node_modules/qscale/scripts\n');
    expect(makefile).not.toMatch(/(^|[\s=])\/(?!dev\/)[a-z]/m);
    expect(makefile).toContain('.DEFAULT_GOAL := help\n');
    const help = /^help:\n((?:\t.*\n)+)/m.exec(makefile)?.[1] ?? '';
    expect(help.split('\n').filter(Boolean).every((line) => line.startsWith('\t@echo '))).toBe(true);
  });

  it('runs system set-up (apt-get, daemons) only in the explicit setup target', () => {
    const setup = /^setup:.*\n((?:\t.*\n)+)/m.exec(makefile)?.[1] ?? '';
    expect(setup).toContain('setup-docker.sh');
    expect(makefile.split('setup-docker.sh').length).toBe(2);
    expect(makefile).not.toMatch(/^(demo|image|up|install):.*\bsetup\b/m);
  });

  it('names the image, queues and results queue after the project', () => {
    expect(makefile).toContain('IMAGE ?= orders-worker:local\n');
    expect(byPath.get('docker-compose.yml')).toContain('image: orders-worker:local\n');
    expect(byPath.get('docker-compose.yml')).toContain('QUEUE: orders.task_a\n');
    expect(byPath.get('docker-compose.yml')).toContain('RESULTS_QUEUE: orders.results\n');
    expect(byPath.get('test-config.yml')).toContain('queue: orders.task_b\n');
    expect(byPath.get('test-config.yml')).toContain('results_queue: orders.results\n');
    expect(byPath.get('.env')).toContain('COMPOSE_PROJECT_NAME=orders\n');
  });

  it("keeps the compose file otherwise the same as qscale's own demo", () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const demo = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const strip = (text: string) => text.split('\n').filter((line) => !line.startsWith('#')).join('\n');
    const generic = strip(byPath.get('docker-compose.yml') ?? '')
      .replace('orders-worker:local', 'qscale/worker:local')
      .replace('orders.results', 'qscale.results')
      .replaceAll(/orders\.(task_[ab])/g, '$1');
    expect(generic).toBe(strip(demo));
  });
});

describe('qscale init', () => {
  const engine = (images: string[] = []) => new FakeEngine(() => 0, images);

  it('writes a project that qscale itself can load, named after its folder', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'qscale-init-'));
    const result = await runCli(['init', 'fleet'], { cwd, engine: engine() });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('created   fleet/worker/src/main.ts\n');
    expect(result.stdout).toContain('project fleet: image fleet-worker:local, queues fleet.task_a and fleet.task_b\n');
    expect(result.stdout).toContain('next: cd fleet && make install image up   (make setup first if this host lacks Docker or RabbitMQ)\n');
    const dryRun = await runCli(['scale', 'worker-b', '2', '--dry-run'], { cwd: path.join(cwd, 'fleet'), engine: engine(['fleet-worker:local']) });
    expect(dryRun).toMatchObject({ code: 0 });
    expect(dryRun.stdout + dryRun.stderr).toContain('worker-b: 0 → 2');
    expect(dryRun.stdout).toContain('create fleet-worker-b-1 (image fleet-worker:local)');
  });

  it('gives two projects different images and queues', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'qscale-init-'));
    await runCli(['init', 'one'], { cwd, engine: engine() });
    await runCli(['init', 'two', '--name', 'second', '--qscale', 'file:../qscale.tgz'], { cwd, engine: engine() });
    const compose = (dir: string) => readFileSync(path.join(cwd, dir, 'docker-compose.yml'), 'utf8');
    expect(compose('one')).toContain('image: one-worker:local');
    expect(compose('two')).toContain('image: second-worker:local');
    expect(compose('two')).toContain('QUEUE: second.task_a');
    expect(JSON.parse(readFileSync(path.join(cwd, 'two', 'package.json'), 'utf8')).devDependencies.qscale).toBe('file:../qscale.tgz');
  });

  it('refuses before writing anything when a file exists, and overwrites with --force', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'qscale-init-'));
    writeFileSync(path.join(cwd, 'Makefile'), 'mine\n');
    const refused = await runCli(['init'], { cwd, engine: engine() });
    expect(refused).toEqual({ code: 2, stdout: '', stderr: `error: ${cwd} already has Makefile; nothing was written — pass --force to overwrite them\n` });
    expect(() => readFileSync(path.join(cwd, 'test-config.yml'))).toThrow();

    const forced = await runCli(['init', '--force'], { cwd, engine: engine() });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('overwrote Makefile\n');
    expect(forced.stdout).toContain('next: make install image up');
    expect(readFileSync(path.join(cwd, 'Makefile'), 'utf8')).toContain('.DEFAULT_GOAL := help');
  });
});
