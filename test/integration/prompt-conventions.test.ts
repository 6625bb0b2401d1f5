import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeProject } from '../support/fixtures.js';
import { uniqueName, workerComposeService } from './support/real-cli.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/qscale.js');

/** The built CLI as a user runs it, with its own environment. */
function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const name of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'QSCALE_CONFIG', 'QSCALE_BROKER_URL', 'QSCALE_MANAGEMENT_URL']) delete base[name];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...base, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let project: string;
let dir: string;

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: REPO, stdio: 'pipe', timeout: 120_000 });
  project = uniqueName('it-prompt');
  const config = `project:\n  name: ${project}\nbroker:\n  url: amqp://\${BROKER_USER}:\${BROKER_PASSWORD}@127.0.0.1:5672\nworkers:\n  worker:\n    queue: ${project}.q\n    max_replicas: \${MAX_A}\n`;
  dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': `services:\n${workerComposeService(`${project}.q`)}`, '.env': 'BROKER_USER=guest\nBROKER_PASSWORD=guest\nMAX_A=3\n' });
  mkdirSync(path.join(dir, 'src', 'jobs'), { recursive: true });
});

describe('at the prompt, with the real engine', () => {
  it('a count above the limit exits 2 before Docker is contacted, even with no engine to reach', async () => {
    const result = await run(dir, ['scale', 'worker', '99'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: worker: 99 replicas exceeds its max_replicas (3); nothing changed\n' });
  });

  it('finds test-config.yml in a parent folder, interpolating it from the .env beside it', async () => {
    const result = await run(path.join(dir, 'src', 'jobs'), ['scale', 'worker', '2', '--dry-run']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`create ${project}-worker-2`);
  });

  it('takes QSCALE_CONFIG from another folder', async () => {
    const result = await run(REPO, ['ps', '--json'], { QSCALE_CONFIG: path.join(dir, 'test-config.yml') });
    expect(result).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('reaches the engine through the current Docker context of $DOCKER_CONFIG, and refuses a missing one with exit 2', async () => {
    const config = path.join(dir, 'docker-config');
    const id = createHash('sha256').update('local-it').digest('hex');
    mkdirSync(path.join(config, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(path.join(config, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: 'local-it', Metadata: {}, Endpoints: { docker: { Host: 'unix:///var/run/docker.sock', SkipTLSVerify: false } } }));
    writeFileSync(path.join(config, 'config.json'), JSON.stringify({ currentContext: 'local-it' }));
    expect(await run(dir, ['ps', '--json'], { DOCKER_CONFIG: config })).toMatchObject({ code: 0, stdout: '[]\n' });
    const missing = await run(dir, ['ps'], { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'nope' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: Docker context "nope" \(DOCKER_CONTEXT\) does not exist/);
  });
});
