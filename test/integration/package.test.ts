import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileAsync, uniqueName } from './support/real-cli.js';

/**
 * The npm package as a user gets it: packed (prepack builds dist/ from a clean copy of the sources),
 * installed into a temporary prefix, run from another folder. The copy keeps the work tree's dist/
 * untouched, since other tests run the CLI from it.
 */
const repo = path.resolve(import.meta.dirname, '../..');
const { version } = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string };
const COPIED = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'bin', 'docs', 'scripts', 'src', 'templates', 'vendor'];

/** npm settings inherited from an enclosing `npm run` (prefix, global…) would redirect the install. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  return env;
}

async function run(command: string, args: string[], cwd: string) {
  return execFileAsync(command, args, { cwd, env: cleanEnv(), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
}

describe('the npm package', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let qscaleBin: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'qscale-package-'));
    const source = path.join(work, 'source');
    mkdirSync(source);
    for (const entry of COPIED) {
      try {
        cpSync(path.join(repo, entry), path.join(source, entry), { recursive: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    // Test-only files a user's clone has too: the allow-list must leave them out.
    for (const stray of ['test', 'bench', '.ci']) cpSync(path.join(repo, stray), path.join(source, stray), { recursive: true });
    cpSync(path.join(repo, '.env'), path.join(source, '.env'));
    symlinkSync(path.join(repo, 'node_modules'), path.join(source, 'node_modules'));

    // Packed twice into the source folder: the second tarball must not contain the first.
    await run('npm', ['pack', '--silent'], source);
    const { stdout } = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], source);
    tarball = path.join(work, stdout.trim().split('\n').pop() as string);
    files = (await run('tar', ['tzf', tarball], work)).stdout.trim().split('\n').map((file) => file.replace(/^package\//, ''));

    await run('npm', ['install', '--global', '--prefix', path.join(work, 'prefix'), tarball], work);
    qscaleBin = path.join(work, 'prefix', 'bin', 'qscale');
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built CLI, its templates, README and LICENSE', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'bin/qscale.js', 'dist/qscale.mjs', 'templates/project/Makefile', 'templates/worker/src/main.ts', 'templates/Dockerfile']));
    expect(files.some((file) => file.startsWith('dist/chunks/') && file.endsWith('.mjs'))).toBe(true);
    // ssh2 (DOCKER_HOST=ssh://) bundled on its own, and the bundled packages' licences.
    expect(files).toEqual(expect.arrayContaining(['dist/vendor/ssh2.cjs', 'dist/THIRD-PARTY-LICENSES.txt', 'dist/test-config.schema.json']));
  });

  it('installs no dependencies: dist/ bundles them', () => {
    expect(readdirSync(path.join(work, 'prefix', 'lib', 'node_modules', 'qscale'))).not.toContain('node_modules');
  });

  it('holds no tests, benchmarks, CI, .env, source maps or earlier tarballs', () => {
    const unwanted = files.filter((file) => /^(test|bench|\.ci|src|node_modules)\//.test(file) || file === '.env' || file.endsWith('.tgz') || file.endsWith('.map'));
    expect(unwanted).toEqual([]);
  });

  it('installs into a prefix and answers --version and --help from another folder', async () => {
    const elsewhere = mkdtempSync(path.join(work, 'elsewhere-'));
    expect((await run(qscaleBin, ['--version'], elsewhere)).stdout.trim()).toBe(version);
    const help = (await run(qscaleBin, ['--help'], elsewhere)).stdout;
    expect(help).toContain('Usage: qscale');
    expect(help).toMatch(/^\s+scale \[options\]/m);
  });

  it('loads its bundled ssh2 for DOCKER_HOST=ssh:// (the connection, to a closed loopback port, is refused)', async () => {
    const elsewhere = mkdtempSync(path.join(work, 'ssh-'));
    writeFileSync(path.join(elsewhere, 'compose.yaml'), 'services:\n  w:\n    image: qscale/worker:local\n    network_mode: host\n');
    writeFileSync(path.join(elsewhere, 'test-config.yml'), 'workers:\n  w:\n    queue: q\n');
    const failure = await execFileAsync(qscaleBin, ['ps'], {
      cwd: elsewhere,
      env: { ...cleanEnv(), DOCKER_HOST: 'ssh://nobody@127.0.0.1:1' },
      timeout: 60_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('cannot reach the Docker engine at ssh://nobody@127.0.0.1:1 (ECONNREFUSED)');
  });

  it('runs through npm exec --package=<tarball>', async () => {
    const elsewhere = mkdtempSync(path.join(work, 'exec-'));
    const { stdout } = await run('npm', ['exec', '--yes', `--package=${tarball}`, '--', 'qscale', '--version'], elsewhere);
    expect(stdout.trim()).toBe(version);
  });

  it('writes a project with init: plain make installs nothing, make install brings qscale from the tarball, make image builds its worker, npx qscale plans a scale', async () => {
    const name = uniqueName('pkg');
    await run(qscaleBin, ['init', name, '--qscale', `file:${tarball}`], work);
    const project = path.join(work, name);
    expect(readdirSync(project)).toEqual(expect.arrayContaining(['Makefile', 'test-config.yml', 'package.json', 'README.md', '.env']));
    expect(readFileSync(path.join(project, 'test-config.yml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=node_modules\/qscale\/dist\/test-config.schema.json\n/);

    const help = await run('make', [], project);
    expect(help.stdout).toContain('make install');
    expect(readdirSync(project)).not.toContain('node_modules');

    await run('make', ['install'], project);
    // The schema the config's first line names is there once qscale is installed.
    const schema = JSON.parse(readFileSync(path.join(project, 'node_modules/qscale/dist/test-config.schema.json'), 'utf8'));
    expect(schema).toMatchObject({ type: 'object', required: ['workers'], additionalProperties: false });
    // The project's own worker image, built by its Makefile from worker/src.
    await run('make', ['image'], project);
    try {
      const { stdout } = await run('npx', ['qscale', 'scale', 'worker-a', '2', '--dry-run'], project);
      expect(stdout).toContain('worker-a: 0 → 2');
      expect(stdout).toContain(`create ${name}-worker-a-1 (image ${name}-worker:local)`);
    } finally {
      await run('docker', ['rmi', `${name}-worker:local`], project);
    }
  });
});
