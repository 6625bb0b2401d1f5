import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { QscaleError } from '../../src/core/errors.js';
import { findTemplatesDir, planScaffold, readTemplates } from '../../src/core/init/scaffold.js';
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

describe('readTemplates', () => {
  const templates = readTemplates(findTemplatesDir(import.meta.url));
  const byPath = new Map(templates.map((file) => [file.path, file.content]));

  it('has the config, compose file, Makefile, package.json, Dockerfile and the whole worker source', () => {
    expect([...byPath.keys()]).toEqual(
      expect.arrayContaining(['test-config.yml', 'docker-compose.yml', 'Makefile', 'package.json', 'Dockerfile', 'worker/src/main.ts', 'worker/src/protocol.ts', 'worker/src/consumer.ts']),
    );
    expect(JSON.parse(byPath.get('package.json') ?? '')).toMatchObject({ dependencies: { amqplib: expect.any(String) } });
    expect(byPath.get('Makefile')).toContain('npx esbuild worker/src/main.ts --bundle');
    // The new project runs this very qscale: its CLI and its set-up scripts.
    const qscaleHome = path.resolve(import.meta.dirname, '../..');
    expect(byPath.get('Makefile')).toContain(`QSCALE_HOME ?= ${qscaleHome}\n`);
    expect(byPath.get('Makefile')).not.toContain('{{');
  });

  it("ships the same compose file as qscale's own demo", () => {
    const root = path.resolve(import.meta.dirname, '../..');
    expect(byPath.get('docker-compose.yml')).toBe(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'));
  });
});

describe('qscale init', () => {
  const engine = () => new FakeEngine(() => 0, []);

  it('writes a project that qscale itself can load', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'qscale-init-'));
    const result = await runCli(['init', 'fleet'], { cwd, engine: engine() });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('created   fleet/worker/src/main.ts\n');
    expect(result.stdout).toContain('next: cd fleet && make demo   (or: make setup image up)\n');
    const dryRun = await runCli(['scale', 'worker-b', '2', '--dry-run'], { cwd: path.join(cwd, 'fleet'), engine: engine() });
    expect(dryRun).toMatchObject({ code: 0 });
    expect(dryRun.stdout + dryRun.stderr).toContain('worker-b: 0 → 2');
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
    expect(forced.stdout).toContain('next: make demo   (or: make setup image up)\n');
    expect(readFileSync(path.join(cwd, 'Makefile'), 'utf8')).toContain('demo: setup image');
  });
});
