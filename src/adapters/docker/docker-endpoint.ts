import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import path from 'node:path';
import { QscaleError } from '../../core/errors.js';

/** Which Docker engine to talk to, chosen as the docker CLI chooses it. */
export interface DockerEndpoint {
  /** unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host… */
  host: string;
  /** What chose it, for messages: `DOCKER_HOST`, `context "name"`, or `default`. */
  origin: string;
  /** From a context: the TLS material in its tls/ folder; absent, none was stored. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; skipVerify: boolean };
  /** Risks worth one line each on stderr (plain TCP to another host). */
  warnings: string[];
}

const DEFAULT_HOST = 'unix:///var/run/docker.sock';

/**
 * The docker CLI's order: DOCKER_HOST wins; else DOCKER_CONTEXT; else `currentContext` of
 * config.json in $DOCKER_CONFIG (default ~/.docker); the context "default" (or none) is the local
 * socket. A named context is read from contexts/meta/<sha256 of its name>/meta.json, its TLS
 * files from contexts/tls/<sha256>/docker/.
 */
export function resolveDockerEndpoint(env: NodeJS.ProcessEnv, homeDir: string): DockerEndpoint {
  if (env.DOCKER_HOST) {
    // What docker-modem does with it: https only with DOCKER_TLS_VERIFY=1 or port 2376.
    const plain = isPlainTcp(env.DOCKER_HOST, env.DOCKER_TLS_VERIFY === '1');
    return { host: env.DOCKER_HOST, origin: 'DOCKER_HOST', warnings: plain ? [plainTcpWarning('DOCKER_HOST', env.DOCKER_HOST)] : [] };
  }
  const configDir = env.DOCKER_CONFIG || path.join(homeDir, '.docker');
  const [name, from] = env.DOCKER_CONTEXT ? [env.DOCKER_CONTEXT, 'DOCKER_CONTEXT'] : [currentContext(configDir), `currentContext in ${path.join(configDir, 'config.json')}`];
  if (!name || name === 'default') return { host: DEFAULT_HOST, origin: 'default', warnings: [] };

  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = path.join(configDir, 'contexts', 'meta', id, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new QscaleError('USAGE', `Docker context "${name}" (${from}) does not exist: no ${metaFile}`, { hint: 'list contexts with `docker context ls`, or unset DOCKER_CONTEXT' });
  }
  const meta = readJson(metaFile) as { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new QscaleError('USAGE', `Docker context "${name}" (${from}) has no docker endpoint: ${metaFile} lacks Endpoints.docker.Host`);

  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker');
  const read = (file: string) => (existsSync(path.join(tlsDir, file)) ? readFileSync(path.join(tlsDir, file)) : undefined);
  const material = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
  const hasTls = Boolean(material.ca || material.cert || material.key);
  const tls = hasTls || meta.Endpoints?.docker?.SkipTLSVerify ? { ...material, skipVerify: Boolean(meta.Endpoints?.docker?.SkipTLSVerify) } : undefined;
  const origin = `context "${name}"`;
  return { host, origin, tls, warnings: isPlainTcp(host, tls !== undefined) ? [plainTcpWarning(origin, host)] : [] };
}

/** What dockerode needs for an endpoint; undefined leaves DOCKER_HOST and the default socket to docker-modem. */
export function dockerodeOptions(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  if (endpoint.origin === 'DOCKER_HOST' || endpoint.origin === 'default') return undefined;
  const url = new URL(endpoint.host);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'ssh:') {
    return { protocol: 'ssh', host: url.hostname, port: url.port || '22', username: decodeURIComponent(url.username) || undefined, sshOptions: { agent: env.SSH_AUTH_SOCK } };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const https = endpoint.tls !== undefined || url.protocol === 'https:' || url.port === '2376';
    const options: Record<string, unknown> = { protocol: https ? 'https' : 'http', host: url.hostname, port: url.port || (https ? '2376' : '2375'), ca: endpoint.tls?.ca, cert: endpoint.tls?.cert, key: endpoint.tls?.key };
    // The context's SkipTLSVerify, as `docker context create --docker skip-tls-verify=true` sets it.
    if (https && endpoint.tls?.skipVerify) options.agent = new Agent({ rejectUnauthorized: false });
    return options;
  }
  throw new QscaleError('USAGE', `${endpoint.origin}: unsupported Docker endpoint ${endpoint.host} (expected unix://, tcp:// or ssh://)`);
}

function currentContext(configDir: string): string | undefined {
  const file = path.join(configDir, 'config.json');
  if (!existsSync(file)) return undefined;
  const config = readJson(file) as { currentContext?: unknown };
  return typeof config.currentContext === 'string' ? config.currentContext : undefined;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new QscaleError('USAGE', `${file}: cannot read it as JSON (${(error as Error).message.split('\n')[0]})`);
  }
}

/** tcp:// (or a bare host:port) without TLS to a host other than this one. */
function isPlainTcp(host: string, tls: boolean): boolean {
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return false;
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:') return false;
  if (tls || url.port === '2376') return false;
  return !isLoopback(url.hostname);
}

export function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

function plainTcpWarning(origin: string, host: string): string {
  return `${origin} is ${host} without TLS: anyone on the network path can read and drive the Docker engine, which is root on that host (use ssh://, or TLS with DOCKER_TLS_VERIFY=1)`;
}
