import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDurationMs } from '../duration.js';
import { configError } from '../errors.js';
import { parseEnvFile } from './env-file.js';
import { interpolateTree, type Environment } from './interpolate.js';
import { splitShellWords } from './shell-words.js';
import { locate, parseWithSchema, readYamlFile, type YamlSource } from './yaml-source.js';

/** One service of the compose file, normalised into what a container is created from. */
export interface ServiceDefinition {
  name: string;
  image: string;
  /** The image is built by Compose (a `build:` section); a missing image is then built, not pulled. */
  hasBuild: boolean;
  command?: string[];
  entrypoint?: string[];
  environment: Record<string, string>;
  labels: Record<string, string>;
  networkMode?: string;
  init?: boolean;
  user?: string;
  workingDir?: string;
  binds: string[];
  stopSignal?: string;
  stopGracePeriodMs?: number;
  healthcheck?: HealthcheckDefinition;
  restart?: string;
  nanoCpus?: number;
  memoryBytes?: number;
  containerName?: string;
  ports: string[];
  profiles: string[];
  /** `deploy.replicas` or the legacy `scale:` when the file sets one: how many containers Compose would start. */
  replicas?: number;
}

export interface HealthcheckDefinition {
  /** ["NONE"] disables the image's healthcheck. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface ComposeFile {
  /** Absolute path of the file. */
  file: string;
  /** The folder Compose calls the project working directory. */
  workingDir: string;
  /** The top-level `name:`, when the file sets one. */
  name?: string;
  /** The `.env` file beside it (Compose reads COMPOSE_PROJECT_NAME and variables from it). */
  dotEnv: Record<string, string>;
  services: Map<string, ServiceDefinition>;
}

const stringOrList = z.union([z.string(), z.array(z.string())]);
const stringMap = z.union([
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  z.array(z.string()),
]);
const duration = z.union([z.string(), z.number()]);

const serviceSchema = z.looseObject({
  image: z.string().optional(),
  build: z.union([z.string(), z.looseObject({})]).optional(),
  command: stringOrList.optional().nullable(),
  entrypoint: stringOrList.optional().nullable(),
  environment: stringMap.optional(),
  env_file: stringOrList.optional(),
  labels: stringMap.optional(),
  network_mode: z.string().optional(),
  init: z.boolean().optional(),
  user: z.union([z.string(), z.number()]).optional(),
  working_dir: z.string().optional(),
  volumes: z
    .array(z.union([z.string(), z.looseObject({ type: z.string(), source: z.string().optional(), target: z.string(), read_only: z.boolean().optional() })]))
    .optional(),
  stop_signal: z.string().optional(),
  stop_grace_period: duration.optional(),
  healthcheck: z
    .looseObject({
      test: stringOrList.optional(),
      interval: duration.optional(),
      timeout: duration.optional(),
      retries: z.number().int().nonnegative().optional(),
      start_period: duration.optional(),
      disable: z.boolean().optional(),
    })
    .optional(),
  restart: z
    .string()
    .regex(/^(no|always|unless-stopped|on-failure(:\d+)?)$/, 'must be one of no, always, unless-stopped, on-failure[:N]')
    .optional(),
  cpus: z.union([z.string(), z.number()]).optional(),
  mem_limit: z.union([z.string(), z.number()]).optional(),
  scale: z.number().int().nonnegative().optional(),
  deploy: z
    .looseObject({
      replicas: z.number().int().nonnegative().optional(),
      resources: z.looseObject({ limits: z.looseObject({ cpus: z.union([z.string(), z.number()]).optional(), memory: z.union([z.string(), z.number()]).optional() }).optional() }).optional(),
    })
    .optional(),
  container_name: z.string().optional(),
  ports: z.array(z.union([z.string(), z.number(), z.looseObject({})])).optional(),
  profiles: z.array(z.string()).optional(),
});

const composeSchema = z.looseObject({
  name: z.string().optional(),
  services: z.record(z.string(), serviceSchema),
});

/**
 * Reads a compose file into typed service definitions. Variables are interpolated from the
 * environment and the `.env` file beside it, as Compose does.
 */
export function loadComposeFile(file: string, env: Environment = process.env, displayName = file): ComposeFile {
  const absolute = path.resolve(file);
  const workingDir = path.dirname(absolute);
  const source = readYamlFile(absolute, displayName);
  const dotEnvPath = path.join(workingDir, '.env');
  const dotEnv = existsSync(dotEnvPath) ? parseEnvFile(readFileSync(dotEnvPath, 'utf8')) : {};
  const effectiveEnv: Environment = { ...dotEnv, ...env };

  let data: unknown;
  try {
    data = interpolateTree(source.data, effectiveEnv);
  } catch (error) {
    const where = (error as { path?: Array<string | number> }).path ?? [];
    throw configError(locate(source, where, (error as Error).message));
  }
  const parsed = parseWithSchema(source, composeSchema, data);
  const services = new Map<string, ServiceDefinition>();
  const projectName = parsed.name;
  for (const [name, raw] of Object.entries(parsed.services)) {
    services.set(name, normaliseService(source, workingDir, name, raw, projectName));
  }
  return { file: absolute, workingDir, name: parsed.name, dotEnv, services };
}

type RawService = z.output<typeof serviceSchema>;

function normaliseService(source: YamlSource, workingDir: string, name: string, raw: RawService, projectName?: string): ServiceDefinition {
  const at = (...rest: Array<string | number>) => ['services', name, ...rest];
  const fail = (rest: Array<string | number>, message: string): never => {
    throw configError(locate(source, at(...rest), message));
  };
  const words = (value: string | string[] | null | undefined, key: string) => {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value;
    try {
      return splitShellWords(value);
    } catch (error) {
      return fail([key], (error as Error).message);
    }
  };
  const durationOf = (value: string | number | undefined, rest: Array<string | number>) => {
    if (value === undefined) return undefined;
    return parseDurationMs(value) ?? fail(rest, `"${value}" is not a duration (examples: 10s, 1m30s, 500ms)`);
  };

  const environment: Record<string, string> = {};
  for (const [index, envFile] of toList(raw.env_file).entries()) {
    const envPath = path.resolve(workingDir, envFile);
    if (!existsSync(envPath)) fail(['env_file', ...(Array.isArray(raw.env_file) ? [index] : [])], `env file ${envFile} not found`);
    Object.assign(environment, parseEnvFile(readFileSync(envPath, 'utf8')));
  }
  Object.assign(environment, toStringMap(raw.environment, true));

  if (!raw.image && raw.build === undefined) fail([], 'has neither image nor build');
  const image = raw.image ?? `${projectName ?? path.basename(workingDir)}-${name}`;

  const binds = (raw.volumes ?? []).map((volume, index) => {
    if (typeof volume === 'string') {
      const [sourcePath, target, mode] = volume.split(':');
      if (!target) fail(['volumes', index], 'anonymous volumes are not supported; use a bind mount host:container');
      if (!/^[./~]/.test(sourcePath)) fail(['volumes', index], `named volume "${sourcePath}" is not supported; use a bind mount`);
      return `${path.resolve(workingDir, sourcePath.replace(/^~/, process.env.HOME ?? '~'))}:${target}${mode ? `:${mode}` : ''}`;
    }
    if (volume.type !== 'bind' || !volume.source) return fail(['volumes', index], `volume type "${volume.type}" is not supported; use type: bind`);
    return `${path.resolve(workingDir, volume.source)}:${volume.target}${volume.read_only ? ':ro' : ''}`;
  });

  let healthcheck: HealthcheckDefinition | undefined;
  if (raw.healthcheck) {
    const check = raw.healthcheck;
    if (check.disable) healthcheck = { test: ['NONE'] };
    else {
      const test = check.test === undefined ? undefined : typeof check.test === 'string' ? ['CMD-SHELL', check.test] : check.test;
      if (test && !['CMD', 'CMD-SHELL', 'NONE'].includes(test[0])) fail(['healthcheck', 'test'], 'a test list must start with CMD, CMD-SHELL or NONE');
      healthcheck = {
        test: test ?? [],
        intervalMs: durationOf(check.interval, ['healthcheck', 'interval']),
        timeoutMs: durationOf(check.timeout, ['healthcheck', 'timeout']),
        retries: check.retries,
        startPeriodMs: durationOf(check.start_period, ['healthcheck', 'start_period']),
      };
    }
  }

  const limits = raw.deploy?.resources?.limits;
  const cpus = limits?.cpus ?? raw.cpus;
  const memory = limits?.memory ?? raw.mem_limit;
  const nanoCpus = cpus === undefined ? undefined : Math.round(Number(cpus) * 1e9);
  if (nanoCpus !== undefined && !(nanoCpus > 0)) fail(['deploy', 'resources', 'limits', 'cpus'], `"${cpus}" is not a number of CPUs`);
  const memoryBytes = memory === undefined ? undefined : parseBytes(memory) ?? fail(['deploy', 'resources', 'limits', 'memory'], `"${memory}" is not a size (examples: 256m, 1g)`);

  const replicas = raw.deploy?.replicas ?? raw.scale;
  if (raw.deploy?.replicas !== undefined && raw.scale !== undefined && raw.deploy.replicas !== raw.scale) {
    fail(['scale'], `scale (${raw.scale}) and deploy.replicas (${raw.deploy.replicas}) disagree`);
  }

  return {
    name,
    image,
    hasBuild: raw.build !== undefined,
    command: words(raw.command, 'command'),
    entrypoint: words(raw.entrypoint, 'entrypoint'),
    environment,
    labels: toStringMap(raw.labels, false),
    networkMode: raw.network_mode,
    init: raw.init,
    user: raw.user === undefined ? undefined : String(raw.user),
    workingDir: raw.working_dir,
    binds,
    stopSignal: raw.stop_signal,
    stopGracePeriodMs: durationOf(raw.stop_grace_period, ['stop_grace_period']),
    healthcheck,
    restart: raw.restart,
    nanoCpus,
    memoryBytes,
    containerName: raw.container_name,
    ports: (raw.ports ?? []).map((port) => (typeof port === 'object' ? JSON.stringify(port) : String(port))),
    profiles: raw.profiles ?? [],
    replicas,
  };
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function toStringMap(value: Record<string, string | number | boolean | null> | string[] | undefined, fromHost: boolean): Record<string, string> {
  const result: Record<string, string> = {};
  if (!value) return result;
  if (Array.isArray(value)) {
    for (const entry of value) {
      const eq = entry.indexOf('=');
      if (eq === -1) {
        const inherited = fromHost ? process.env[entry] : '';
        if (inherited !== undefined) result[entry] = inherited;
      } else result[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return result;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === null) {
      const inherited = fromHost ? process.env[key] : '';
      if (inherited !== undefined) result[key] = inherited;
    } else result[key] = String(item);
  }
  return result;
}

const BYTE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = BYTE_UNITS[(match[2] || 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}
