import { describe, expect, it } from 'vitest';
import { callEngine } from '../../../src/adapters/docker/engine-calls.js';
import { loadConfig } from '../../../src/core/config/qscale-config.js';
import { QscaleError } from '../../../src/core/errors.js';
import { FakeEngine } from '../../support/fake-engine.js';
import { runCli } from '../../support/cli-harness.js';
import { SIMPLE_COMPOSE, SIMPLE_CONFIG, writeProject } from '../../support/fixtures.js';

const withManagement = (url: string) => SIMPLE_CONFIG.replace('project:\n', `broker:\n  management_url: ${url}\nproject:\n`);

function warningsFor(config: string, env: Record<string, string> = {}): string[] {
  const dir = writeProject({ 'test-config.yml': config, 'docker-compose.yml': SIMPLE_COMPOSE });
  return loadConfig({ cwd: dir, env }).compose.warnings;
}

describe('security warnings', () => {
  it.each([
    ['http://admin:pw@10.0.0.7:15672', ['test-config.yml: broker.management_url is plain http:// to 10.0.0.7:15672: the broker user\'s password crosses the network readable by anyone on the path (use https://)']],
    ['http://rabbit.internal:15672', ['test-config.yml: broker.management_url is plain http:// to rabbit.internal:15672: the broker user\'s password crosses the network readable by anyone on the path (use https://)']],
    ['https://admin:pw@10.0.0.7:15671', []],
    ['http://admin:pw@127.0.0.1:15672', []],
    ['http://localhost:15672', []],
    ['http://[::1]:15672', []],
  ])('management_url %s warns %j', (url, expected) => {
    expect(warningsFor(withManagement(url))).toEqual(expected);
  });

  it('names QSCALE_MANAGEMENT_URL when the environment set it, and never shows the password', () => {
    const warnings = warningsFor(SIMPLE_CONFIG, { QSCALE_MANAGEMENT_URL: 'http://admin:s3cret@10.0.0.7:15672' });
    expect(warnings).toEqual(["QSCALE_MANAGEMENT_URL is plain http:// to 10.0.0.7:15672: the broker user's password crosses the network readable by anyone on the path (use https://)"]);
  });

  it('prints the engine connection warning once on stderr, before the command runs', async () => {
    const cwd = writeProject({ 'test-config.yml': SIMPLE_CONFIG, 'docker-compose.yml': SIMPLE_COMPOSE });
    const engine = Object.assign(new FakeEngine(() => 0, ['demo/worker:1']), { connectionWarnings: ['DOCKER_HOST is tcp://10.1.2.3:2375 without TLS: …'] });
    const result = await runCli(['ps'], { cwd, engine });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('warning: DOCKER_HOST is tcp://10.1.2.3:2375 without TLS: …\n');
  });

  it('the permission-denied hint says docker-group membership is root-equivalent', async () => {
    const denied = Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' });
    const error = await callEngine('unix:///var/run/docker.sock', () => Promise.reject(denied)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QscaleError);
    expect((error as QscaleError).message).toBe('cannot reach the Docker engine at unix:///var/run/docker.sock (EACCES)');
    expect((error as QscaleError).hint).toMatch(/join the docker group, knowing that membership is root-equivalent/);
  });
});
