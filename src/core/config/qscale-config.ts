import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configError, usageError } from '../errors.js';
import { chooseComposeFiles } from './compose-discovery.js';
import { loadComposeFile, type ComposeFile, type ServiceDefinition } from './compose-file.js';
import { chooseConfigFile, DEFAULT_CONFIG_NAME } from './config-discovery.js';
import { EnvFileError, parseEnvFile } from './env-file.js';
import { interpolate, unsetVariableWarning, type Environment, type UnsetVariables } from './interpolate.js';
import { locate, parseWithSchema, readYamlFile, type YamlPath, type YamlSource } from './yaml-source.js';
import { autoscaleSchema, resolveAutoscalePolicy, type AutoscalePolicy } from '../autoscale/policy.js';

export const DEFAULT_CONFIG_FILE = DEFAULT_CONFIG_NAME;

const replicas = z.number().int().nonnegative();

const workerSchema = z.strictObject({
  queue: z.string().min(1),
  min_replicas: replicas.default(0),
  max_replicas: replicas.optional(),
  initial_replicas: replicas.optional(),
  /** The RabbitMQ type of the task queue; the worker declares it from its QUEUE_TYPE environment. */
  queue_type: z.enum(['classic', 'quorum']).default('classic'),
  autoscale: autoscaleSchema.optional(),
});

const loadTestSchema = z.strictObject({
  tasks: z.number().int().positive().default(20),
  task_ms: z.union([z.number().nonnegative(), z.string().regex(/^\d+(-\d+)?$/)]).default(100),
  payload_size: z.number().int().nonnegative().default(0),
  fail_rate: z.number().min(0).max(1).default(0),
  timeout: z.string().optional(),
});

export const configSchema = z.strictObject({
  version: z.literal(1).optional(),
  project: z
    .strictObject({
      name: z.string().optional(),
      // Unset: COMPOSE_FILE, else compose.yaml, docker-compose.yml… found as Compose finds them.
      compose_file: z.string().optional(),
    })
    .default({}),
  broker: z
    .strictObject({
      url: z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL').default('amqp://guest:guest@127.0.0.1:5672'),
      management_url: z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL').optional(),
      results_queue: z.string().min(1).default('qscale.results'),
    })
    .default({ url: 'amqp://guest:guest@127.0.0.1:5672', results_queue: 'qscale.results' }),
  system: z
    .strictObject({
      scaling: z
        .strictObject({
          enabled: z.boolean().default(true),
          auto_scale: z.boolean().default(false),
          max_workers_per_queue: z.number().int().positive().default(10),
          autoscale: autoscaleSchema.optional(),
        })
        .default({ enabled: true, auto_scale: false, max_workers_per_queue: 10 }),
      /** compose: containers on one engine; swarm: a stack's services; auto: swarm when the engine manages a swarm running this stack. */
      backend: z.enum(['compose', 'swarm', 'auto']).default('auto'),
    })
    .default({ scaling: { enabled: true, auto_scale: false, max_workers_per_queue: 10 }, backend: 'auto' }),
  workers: z.record(z.string(), workerSchema).refine((workers) => Object.keys(workers).length > 0, 'must name at least one worker service'),
  load_test: loadTestSchema.default({ tasks: 20, task_ms: 100, payload_size: 0, fail_rate: 0 }),
});

/** A worker service of the fleet: a compose service, the queue it consumes, and its limits. */
export interface WorkerService {
  name: string;
  queue: string;
  minReplicas: number;
  maxReplicas: number;
  initialReplicas: number;
  /** The type of its task queue (queue_type, default classic): what its workers' QUEUE_TYPE should say. loadConfig always sets it. */
  queueType?: QueueType;
  definition: ServiceDefinition;
  /** How `qscale autoscale` scales it: built-in defaults, then system.scaling.autoscale, then its own block. loadConfig always sets it. */
  autoscale?: AutoscalePolicy;
}

export interface LoadTestDefaults {
  tasks: number;
  taskMs: string;
  payloadSize: number;
  failRate: number;
  timeout?: string;
}

export interface QscaleConfig {
  /** The configuration file as the user named it. */
  configFile: string;
  project: { name: string; workingDir: string; configFiles: string[] };
  compose: ComposeFile;
  broker: { url: string; managementUrl?: string; resultsQueue: string };
  scaling: { enabled: boolean; autoScale: boolean; maxWorkersPerQueue: number };
  /** system.backend: which platform runs the fleet; `auto` detects it. */
  backend: BackendSetting;
  workers: WorkerService[];
  loadTest: LoadTestDefaults;
}

export type BackendSetting = 'compose' | 'swarm' | 'auto';

export type QueueType = 'classic' | 'quorum';

export interface LoadConfigOptions {
  /** -c/--config; unset: QSCALE_CONFIG, else test-config.yml here or in the nearest parent. */
  configFile?: string;
  /** -f: one file or several, merged in order. */
  composeFile?: string | readonly string[];
  /** --profile: Compose profiles to activate (default: COMPOSE_PROFILES). */
  profiles?: readonly string[];
  projectName?: string;
  env?: Environment;
  cwd?: string;
}

/** Reads test-config.yml and the compose file it names, once, into typed objects. */
export function loadConfig(options: LoadConfigOptions = {}): QscaleConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const chosenConfig = chooseConfigFile({ flag: options.configFile, env, cwd });
  const configFile = chosenConfig.displayName;
  const configPath = chosenConfig.file;
  const source = readYamlFile(configPath, configFile);
  // ${VAR} as in compose files: the environment, then the .env beside the config.
  const configEnv: Environment = { ...readConfigDotEnv(path.dirname(configPath), env), ...env };
  const unset: UnsetVariables = new Set();
  const raw = parseWithSchema(source, configSchema, interpolateConfig(source, configEnv, unset));
  const brokerUrl = overrideUrl(env, 'QSCALE_BROKER_URL', /^amqps?:\/\//, 'an amqp:// or amqps:// URL') ?? raw.broker.url;
  const managementUrl = overrideUrl(env, 'QSCALE_MANAGEMENT_URL', /^https?:\/\//, 'an http:// or https:// URL') ?? raw.broker.management_url;

  const flagFiles = typeof options.composeFile === 'string' ? [options.composeFile] : options.composeFile;
  const chosen = chooseComposeFiles({ cwd, flagFiles, env, configured: raw.project.compose_file, configDir: path.dirname(configPath) });
  const compose = loadComposeFile(chosen.files, env, undefined, { displayNames: chosen.displayNames, profiles: options.profiles, workers: Object.keys(raw.workers) });
  compose.warnings.unshift(...chosen.warnings);
  for (const warning of [...unset].map(unsetVariableWarning)) if (!compose.warnings.includes(warning)) compose.warnings.push(warning);
  const clearText = managementUrl && plainHttpToAnotherHost(managementUrl);
  if (clearText) {
    const where = env.QSCALE_MANAGEMENT_URL ? 'QSCALE_MANAGEMENT_URL' : `${configFile}: broker.management_url`;
    compose.warnings.push(`${where} is plain http:// to ${clearText}: the broker user's password crosses the network readable by anyone on the path (use https://)`);
  }

  const maxPerQueue = raw.system.scaling.max_workers_per_queue;
  const workers: WorkerService[] = Object.entries(raw.workers).map(([name, worker]) => {
    const at = (key?: string) => (key ? ['workers', name, key] : ['workers', name]);
    const definition = compose.services.get(name);
    if (!definition) {
      throw configError(locate(source, at(), `service "${name}" is not defined in ${path.relative(cwd, compose.file) || compose.file}`));
    }
    const maxReplicas = worker.max_replicas ?? maxPerQueue;
    if (maxReplicas > maxPerQueue) {
      throw configError(locate(source, at('max_replicas'), `${maxReplicas} exceeds system.scaling.max_workers_per_queue (${maxPerQueue})`));
    }
    // Messages name what the user wrote, and say so when a value is a default.
    const maxText = worker.max_replicas === undefined ? `max_replicas, which defaults to system.scaling.max_workers_per_queue = ${maxReplicas}` : `max_replicas ${maxReplicas}`;
    if (worker.min_replicas > maxReplicas) {
      throw configError(locate(source, at('min_replicas'), `${worker.min_replicas} is above ${maxText}`));
    }
    const initialReplicas = worker.initial_replicas ?? definition.replicas ?? Math.max(worker.min_replicas, 1);
    if (initialReplicas < worker.min_replicas || initialReplicas > maxReplicas) {
      const composeName = path.relative(cwd, compose.file) || compose.file;
      const [key, message] = initialReplicasConflict(worker, initialReplicas, maxReplicas, maxText, composeName, definition.replicas);
      throw configError(locate(source, at(key), message), worker.initial_replicas === undefined ? `set initial_replicas: ${Math.min(Math.max(initialReplicas, worker.min_replicas), maxReplicas)}` : undefined);
    }
    const autoscale = resolveAutoscalePolicy({
      source,
      global: raw.system.scaling.autoscale,
      worker: worker.autoscale,
      workerPath: at('autoscale'),
      minReplicas: worker.min_replicas,
      maxReplicas,
      hasManagementApi: managementUrl !== undefined,
    });
    return { name, queue: worker.queue, minReplicas: worker.min_replicas, maxReplicas, initialReplicas, queueType: worker.queue_type, definition, autoscale };
  });

  const name = resolveProjectName(options.projectName, env.COMPOSE_PROJECT_NAME || compose.dotEnv.COMPOSE_PROJECT_NAME, raw.project.name, compose);
  return {
    configFile,
    project: { name, workingDir: compose.workingDir, configFiles: compose.files },
    compose,
    broker: { url: brokerUrl, managementUrl, resultsQueue: raw.broker.results_queue },
    scaling: { enabled: raw.system.scaling.enabled, autoScale: raw.system.scaling.auto_scale, maxWorkersPerQueue: maxPerQueue },
    backend: raw.system.backend,
    workers,
    loadTest: {
      tasks: raw.load_test.tasks,
      taskMs: String(raw.load_test.task_ms),
      payloadSize: raw.load_test.payload_size,
      failRate: raw.load_test.fail_rate,
      timeout: raw.load_test.timeout,
    },
  };
}

/** The .env beside test-config.yml, parsed by Compose's rules; empty when there is none. */
function readConfigDotEnv(dir: string, env: Environment): Record<string, string> {
  const file = path.join(dir, '.env');
  if (!existsSync(file) || !statSync(file).isFile()) return {};
  try {
    return parseEnvFile(readFileSync(file, 'utf8'), env);
  } catch (error) {
    if (error instanceof EnvFileError) throw configError(`${file}: line ${error.line}: ${error.message}`);
    throw configError(`${file}: ${(error as Error).message}`);
  }
}

/**
 * The config's data with ${VAR} replaced in every string. A value that was a variable and now
 * reads as a number or a boolean (`max_replicas: ${MAX}`) becomes one, as YAML would have read it.
 */
function interpolateConfig(source: YamlSource, env: Environment, unset: UnsetVariables): unknown {
  const walk = (value: unknown, at: YamlPath): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      let result: string;
      try {
        result = interpolate(value, env, unset);
      } catch (error) {
        throw configError(locate(source, at, (error as Error).message));
      }
      if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(result)) return Number(result);
      if (result === 'true' || result === 'false') return result === 'true';
      return result;
    }
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...at, index]));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...at, key])]));
    return value;
  };
  return walk(source.data, []);
}

/**
 * The host of an http:// URL that is not this machine; undefined otherwise. qscale always sends
 * the management API a password (the URL's, else broker.url's, else guest's), so plain HTTP to
 * another host gives it away.
 */
function plainHttpToAnotherHost(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:') return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) ? undefined : parsed.host;
}

/** An environment override of a URL in the config, checked here since no file line can be blamed. */
function overrideUrl(env: Environment, name: string, shape: RegExp, expected: string): string | undefined {
  const value = env[name];
  if (!value) return undefined;
  if (!shape.test(value)) throw configError(`${name}: must be ${expected}`);
  return value;
}

/**
 * Where an initial count outside min..max is blamed, and how: on initial_replicas when the user
 * wrote it; otherwise on the limit it crosses, saying where the count came from (the compose
 * file's deploy.replicas or scale:, or the built-in default).
 */
function initialReplicasConflict(
  worker: { min_replicas: number; max_replicas?: number; initial_replicas?: number },
  initial: number,
  max: number,
  maxText: string,
  composeFile: string,
  composeReplicas: number | undefined,
): [key: string | undefined, message: string] {
  const min = worker.min_replicas;
  if (worker.initial_replicas !== undefined) {
    return ['initial_replicas', `${initial} is outside min_replicas..max_replicas (${min}..${max})${worker.max_replicas === undefined ? `; ${maxText}` : ''}`];
  }
  const origin = composeReplicas !== undefined ? `initial_replicas is not set and comes from the service's deploy.replicas/scale in ${composeFile} = ${initial}` : `initial_replicas defaults to max(min_replicas, 1) = ${initial}`;
  if (initial < min) return ['min_replicas', `${origin}, below min_replicas ${min}`];
  return [worker.max_replicas === undefined ? undefined : 'max_replicas', `${origin}, above ${maxText}`];
}

/** A worker whose config and compose service disagree about the queue it reads. */
export interface QueueMismatch {
  service: string;
  key: 'queue' | 'queue_type';
  /** The config's value. */
  configured: string;
  /** The compose service's environment value; undefined when it sets none (the worker's default applies). */
  environment?: string;
  message: string;
}

/**
 * Workers whose compose service's environment disagrees with the config: a QUEUE other than the
 * config's `queue` (status and load tests would watch a queue none of its workers reads), or a
 * QUEUE_TYPE other than `queue_type` (the worker declares the other type).
 */
export function queueMismatches(config: Pick<QscaleConfig, 'configFile' | 'compose' | 'workers'>): QueueMismatch[] {
  const composeFile = path.basename(config.compose.file);
  const mismatches: QueueMismatch[] = [];
  for (const worker of config.workers) {
    const environment = worker.definition.environment;
    const queue = environment.QUEUE;
    if (queue !== undefined && queue !== worker.queue) {
      mismatches.push({
        service: worker.name,
        key: 'queue',
        configured: worker.queue,
        environment: queue,
        message: `${worker.name}: ${config.configFile} says queue ${worker.queue}, but its service in ${composeFile} sets QUEUE=${queue}: its workers read ${queue}, so status and load tests watch a queue none of them reads`,
      });
    }
    const queueType = (environment.QUEUE_TYPE ?? 'classic').toLowerCase();
    const configured = worker.queueType ?? 'classic';
    if (queueType !== configured) {
      const set = environment.QUEUE_TYPE === undefined ? 'sets no QUEUE_TYPE (the worker then declares a classic queue)' : `sets QUEUE_TYPE=${environment.QUEUE_TYPE}`;
      mismatches.push({
        service: worker.name,
        key: 'queue_type',
        configured,
        environment: environment.QUEUE_TYPE,
        message: `${worker.name}: ${config.configFile} says queue_type ${configured}, but its service in ${composeFile} ${set}`,
      });
    }
  }
  return mismatches;
}

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** -p, then COMPOSE_PROJECT_NAME (environment, then .env), then the config, then the compose file's `name:`, then the folder. */
function resolveProjectName(flag: string | undefined, fromEnv: string | undefined, fromConfig: string | undefined, compose: ComposeFile): string {
  const explicit: Array<[string | undefined, string]> = [
    [flag, '-p/--project-name'],
    [fromEnv, 'COMPOSE_PROJECT_NAME'],
    [fromConfig, 'project.name'],
    [compose.name, `${compose.file}: name`],
  ];
  for (const [value, where] of explicit) {
    if (!value) continue;
    if (!PROJECT_NAME.test(value)) {
      throw usageError(`${where}: "${value}" is not a valid project name`, 'use lowercase letters, digits, dashes and underscores, starting with a letter or digit');
    }
    return value;
  }
  // As Compose does with the folder name: lowercase, drop every other character.
  const fromFolder = path.basename(compose.workingDir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
  if (!fromFolder) throw usageError(`cannot derive a project name from folder "${compose.workingDir}"`, 'pass -p/--project-name');
  return fromFolder;
}

/** Refuses service names the compose file does not define (ps, logs, events take any of its services). */
export function checkComposeServices(config: QscaleConfig, services: readonly string[]): void {
  const unknown = services.find((service) => !config.compose.services.has(service));
  const profiles = unknown === undefined ? undefined : config.compose.inactiveServices?.get(unknown);
  if (unknown && profiles) throw usageError(`service "${unknown}" runs only with profile ${profiles.join(',')}, which is not active`, `set COMPOSE_PROFILES=${profiles.join(',')} or pass --profile ${profiles[0]}`);
  if (unknown) throw usageError(`unknown service "${unknown}" (not in ${config.compose.file})`);
}

export function findWorker(config: QscaleConfig, name: string): WorkerService {
  const worker = config.workers.find((candidate) => candidate.name === name);
  if (!worker) {
    const known = config.workers.map((candidate) => candidate.name).join(', ');
    throw usageError(`unknown worker service "${name}" (${config.configFile} names: ${known})`);
  }
  return worker;
}
