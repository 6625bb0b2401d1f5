import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerodeOptions, resolveDockerEndpoint } from '../../../src/adapters/docker/docker-endpoint.js';
import { QscaleError } from '../../../src/core/errors.js';

/** A home folder with ~/.docker holding the given current context and contexts, as `docker context create` writes them. */
function home(options: { current?: string; contexts?: Record<string, { host: string; tls?: string[]; skipVerify?: boolean }>; configDir?: string } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qscale-docker-home-'));
  const configDir = options.configDir ?? path.join(dir, '.docker');
  mkdirSync(configDir, { recursive: true });
  if (options.current !== undefined) writeFileSync(path.join(configDir, 'config.json'), JSON.stringify({ auths: {}, currentContext: options.current }));
  for (const [name, context] of Object.entries(options.contexts ?? {})) {
    const id = createHash('sha256').update(name).digest('hex');
    mkdirSync(path.join(configDir, 'contexts', 'meta', id), { recursive: true });
    writeFileSync(path.join(configDir, 'contexts', 'meta', id, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: context.host, SkipTLSVerify: context.skipVerify ?? false } } }));
    if (context.tls) {
      mkdirSync(path.join(configDir, 'contexts', 'tls', id, 'docker'), { recursive: true });
      for (const file of context.tls) writeFileSync(path.join(configDir, 'contexts', 'tls', id, 'docker', file), `${file} of ${name}`);
    }
  }
  return dir;
}

function errorOf(run: () => unknown): QscaleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(QscaleError);
    return error as QscaleError;
  }
  throw new Error('expected an error');
}

const CONTEXTS = { remote: { host: 'ssh://deploy@127.0.0.1:2222' }, other: { host: 'unix:///run/other.sock' } };

describe('resolveDockerEndpoint', () => {
  it('DOCKER_HOST wins over DOCKER_CONTEXT and the current context', () => {
    const dir = home({ current: 'remote', contexts: CONTEXTS });
    expect(resolveDockerEndpoint({ DOCKER_HOST: 'unix:///tmp/d.sock', DOCKER_CONTEXT: 'other' }, dir)).toEqual({ host: 'unix:///tmp/d.sock', origin: 'DOCKER_HOST', warnings: [] });
  });

  it('DOCKER_CONTEXT wins over config.json; its endpoint comes from meta.json', () => {
    const dir = home({ current: 'remote', contexts: CONTEXTS });
    expect(resolveDockerEndpoint({ DOCKER_CONTEXT: 'other' }, dir)).toMatchObject({ host: 'unix:///run/other.sock', origin: 'context "other"', tls: undefined });
    expect(resolveDockerEndpoint({}, dir)).toMatchObject({ host: 'ssh://deploy@127.0.0.1:2222', origin: 'context "remote"' });
  });

  it('no config.json, no currentContext, or "default": the local socket', () => {
    expect(resolveDockerEndpoint({}, home())).toEqual({ host: 'unix:///var/run/docker.sock', origin: 'default', warnings: [] });
    expect(resolveDockerEndpoint({}, home({ current: '' }))).toMatchObject({ origin: 'default' });
    expect(resolveDockerEndpoint({}, home({ current: 'default', contexts: CONTEXTS }))).toMatchObject({ origin: 'default' });
    expect(resolveDockerEndpoint({ DOCKER_CONTEXT: 'default' }, home({ current: 'remote', contexts: CONTEXTS }))).toMatchObject({ origin: 'default' });
  });

  it('DOCKER_CONFIG replaces ~/.docker', () => {
    const dir = home();
    const elsewhere = path.join(dir, 'elsewhere');
    home({ current: 'other', contexts: CONTEXTS, configDir: elsewhere });
    expect(resolveDockerEndpoint({ DOCKER_CONFIG: elsewhere }, dir)).toMatchObject({ host: 'unix:///run/other.sock' });
    expect(resolveDockerEndpoint({}, dir)).toMatchObject({ origin: 'default' });
  });

  it('reads the TLS material of a context and connects over https with it', () => {
    const dir = home({ current: 'secure', contexts: { secure: { host: 'tcp://10.0.0.5:2376', tls: ['ca.pem', 'cert.pem', 'key.pem'] } } });
    const endpoint = resolveDockerEndpoint({}, dir);
    expect(endpoint.tls).toEqual({ ca: Buffer.from('ca.pem of secure'), cert: Buffer.from('cert.pem of secure'), key: Buffer.from('key.pem of secure'), skipVerify: false });
    expect(endpoint.warnings).toEqual([]);
    expect(dockerodeOptions(endpoint, {})).toEqual({ protocol: 'https', host: '10.0.0.5', port: '2376', ca: endpoint.tls?.ca, cert: endpoint.tls?.cert, key: endpoint.tls?.key });
  });

  it('honours a context\'s SkipTLSVerify with an agent that does not verify the server', () => {
    const dir = home({ current: 'lax', contexts: { lax: { host: 'tcp://10.0.0.5:2376', skipVerify: true } } });
    const endpoint = resolveDockerEndpoint({}, dir);
    expect(endpoint.tls).toEqual({ ca: undefined, cert: undefined, key: undefined, skipVerify: true });
    const options = dockerodeOptions(endpoint, {}) as { protocol: string; agent?: { options: { rejectUnauthorized?: boolean } } };
    expect(options.protocol).toBe('https');
    expect(options.agent?.options.rejectUnauthorized).toBe(false);
  });

  it('a missing context or a context without a docker endpoint is a usage error naming it and where it was chosen', () => {
    const dir = home({ current: 'gone' });
    const missing = errorOf(() => resolveDockerEndpoint({}, dir));
    expect(missing.message).toMatch(/^Docker context "gone" \(currentContext in .*config\.json\) does not exist: no .*contexts\/meta\/[0-9a-f]{64}\/meta\.json$/);
    expect(missing.exitCode).toBe(2);
    expect(errorOf(() => resolveDockerEndpoint({ DOCKER_CONTEXT: 'nope' }, dir)).message).toMatch(/^Docker context "nope" \(DOCKER_CONTEXT\) does not exist/);
  });

  it('a config.json that is not JSON is named', () => {
    const dir = home();
    writeFileSync(path.join(dir, '.docker', 'config.json'), '{ nope');
    expect(errorOf(() => resolveDockerEndpoint({}, dir)).message).toMatch(/config\.json: cannot read it as JSON/);
  });

  it('turns each endpoint kind into dockerode options; DOCKER_HOST and the default are left to docker-modem', () => {
    const dir = home({ contexts: CONTEXTS });
    expect(dockerodeOptions(resolveDockerEndpoint({ DOCKER_CONTEXT: 'other' }, dir), {})).toEqual({ socketPath: '/run/other.sock' });
    expect(dockerodeOptions(resolveDockerEndpoint({ DOCKER_CONTEXT: 'remote' }, dir), { SSH_AUTH_SOCK: '/tmp/agent' })).toEqual({
      protocol: 'ssh',
      host: '127.0.0.1',
      port: '2222',
      username: 'deploy',
      sshOptions: { agent: '/tmp/agent' },
    });
    expect(dockerodeOptions(resolveDockerEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }, dir), {})).toBeUndefined();
    expect(dockerodeOptions(resolveDockerEndpoint({}, home()), {})).toBeUndefined();
  });
});

describe('plain-TCP warning', () => {
  it.each([
    ['tcp://10.1.2.3:2375', {}, true],
    ['tcp://docker.example:2375', {}, true],
    ['10.1.2.3:2375', {}, true],
    ['tcp://10.1.2.3:2375', { DOCKER_TLS_VERIFY: '1' }, false],
    ['tcp://10.1.2.3:2376', {}, false],
    ['tcp://127.0.0.1:2375', {}, false],
    ['tcp://localhost:2375', {}, false],
    ['tcp://[::1]:2375', {}, false],
    ['ssh://me@10.1.2.3', {}, false],
    ['unix:///var/run/docker.sock', {}, false],
  ])('DOCKER_HOST=%s %j warns: %s', (host, env, warns) => {
    const endpoint = resolveDockerEndpoint({ DOCKER_HOST: host, ...env }, home());
    expect(endpoint.warnings).toEqual(warns ? [`DOCKER_HOST is ${host} without TLS: anyone on the network path can read and drive the Docker engine, which is root on that host (use ssh://, or TLS with DOCKER_TLS_VERIFY=1)`] : []);
  });

  it('a context with a tcp endpoint and no TLS material warns, naming the context', () => {
    const dir = home({ current: 'lan', contexts: { lan: { host: 'tcp://192.168.1.9:2375' } } });
    expect(resolveDockerEndpoint({}, dir).warnings).toEqual([
      'context "lan" is tcp://192.168.1.9:2375 without TLS: anyone on the network path can read and drive the Docker engine, which is root on that host (use ssh://, or TLS with DOCKER_TLS_VERIFY=1)',
    ]);
  });
});
