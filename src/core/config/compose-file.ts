import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDurationMs } from '../duration.js';
import { configError } from '../errors.js';
import { ACCEPTED_SERVICE_KEYS, checkNestedKeys, knownServiceKeys, REFUSED_SERVICE_KEYS, REFUSED_TOP_LEVEL_KEYS, TOP_LEVEL_ENTRY_KEYS, TOP_LEVEL_KEYS, unknownKeyMessage } from './compose-keys.js';
import { asMapping, COMPOSE_YAML_TAGS, mergeComposeTrees, mergeService, withoutMergeTags } from './compose-merge.js';
import { EnvFileError, parseEnvFile } from './env-file.js';
import type { ContainerOptions, HostOptions } from './host-options.js';
import { interpolateTree, unsetVariableWarning, type Environment, type UnsetVariables } from './interpolate.js';
import { splitShellWords } from './shell-words.js';
import { locate, parseLocated, readYamlFile, type YamlPath, type YamlSource } from './yaml-source.js';

export type { ContainerOptions, HostOptions } from './host-options.js';

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
  /** Bind mounts `host:container[:ro]`, file-based secrets and configs included. */
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
  /** Engine HostConfig settings (cap_add, ulimits, tmpfs…); absent when the service sets none. */
  hostOptions?: HostOptions;
  /** Container settings (hostname, tty…); absent when the service sets none. */
  containerOptions?: ContainerOptions;
  /**
   * Why qscale cannot create this service's containers (a located one-line message). Only services
   * qscale never creates keep one (a database beside the workers, say); a worker's is an error.
   */
  unsupported?: string;
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
  /** Absolute path of the first file (the project's main file). */
  file: string;
  /** Every file merged, in order (-f files, or the found file and its override). */
  files: string[];
  /** The folder Compose calls the project working directory: the first file's. */
  workingDir: string;
  /** The top-level `name:`, when a file sets one. */
  name?: string;
  /** The `.env` file beside it (Compose reads COMPOSE_PROJECT_NAME and variables from it). */
  dotEnv: Record<string, string>;
  /** The services of the active profiles. */
  services: Map<string, ServiceDefinition>;
  /** Services left out because none of their profiles is active: name → its profiles. */
  inactiveServices: Map<string, string[]>;
  /** Things Compose would warn about too (unset variables, several candidate files). */
  warnings: string[];
}

export interface LoadComposeOptions {
  /** How each file is named in messages; defaults to the path given. */
  displayNames?: readonly string[];
  /** --profile values; default: COMPOSE_PROFILES (environment, then .env), comma-separated. */
  profiles?: readonly string[];
  /**
   * The services qscale will create containers for. What it cannot honour in them is an error;
   * in the other services it is only recorded (`unsupported`). Default: every service.
   */
  workers?: readonly string[];
}

const stringOrList = z.union([z.string(), z.array(z.string())]);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const stringMap = z.union([z.record(z.string(), scalar), z.array(z.string())]);
const duration = z.union([z.string(), z.number()]);
const size = z.union([z.string(), z.number()]);
const integer = z.union([z.number().int(), z.string().regex(/^-?\d+$/, 'must be an integer')]);
const fileReference = z.union([
  z.string(),
  z.looseObject({ source: z.string(), target: z.string().optional(), uid: z.string().optional(), gid: z.string().optional(), mode: z.union([z.string(), z.number()]).optional() }),
]);

const serviceSchema = z.looseObject({
  image: z.string().optional(),
  build: z.union([z.string(), z.looseObject({ context: z.string().optional() })]).optional(),
  command: stringOrList.optional().nullable(),
  entrypoint: stringOrList.optional().nullable(),
  environment: stringMap.optional(),
  env_file: z.union([z.string(), z.array(z.union([z.string(), z.looseObject({ path: z.string(), required: z.boolean().optional() })]))]).optional(),
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
  mem_limit: size.optional(),
  scale: z.number().int().nonnegative().optional(),
  deploy: z
    .looseObject({
      replicas: z.number().int().nonnegative().optional(),
      resources: z
        .looseObject({
          limits: z.looseObject({ cpus: z.union([z.string(), z.number()]).optional(), memory: size.optional(), pids: integer.optional() }).optional(),
          reservations: z.looseObject({ memory: size.optional() }).optional(),
        })
        .optional(),
      restart_policy: z.looseObject({ condition: z.enum(['none', 'on-failure', 'any']).optional(), max_attempts: z.number().int().nonnegative().optional() }).optional(),
    })
    .optional()
    .nullable(),
  container_name: z.string().optional(),
  ports: z.array(z.union([z.string(), z.number(), z.looseObject({})])).optional(),
  profiles: z.array(z.string()).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.looseObject({}).nullable())]).optional(),
  pull_policy: z.enum(['always', 'never', 'missing', 'if_not_present', 'build', 'daily', 'weekly']).or(z.string().regex(/^every_\w+$/)).optional(),
  secrets: z.array(fileReference).optional(),
  configs: z.array(fileReference).optional(),
  cap_add: z.array(z.string()).optional(),
  cap_drop: z.array(z.string()).optional(),
  privileged: z.boolean().optional(),
  read_only: z.boolean().optional(),
  security_opt: z.array(z.string()).optional(),
  sysctls: stringMap.optional(),
  tmpfs: stringOrList.optional(),
  ulimits: z.record(z.string(), z.union([integer, z.looseObject({ soft: integer, hard: integer })])).optional(),
  shm_size: size.optional(),
  pids_limit: integer.optional(),
  extra_hosts: z.union([z.array(z.string()), z.record(z.string(), z.union([z.string(), z.array(z.string())]))]).optional(),
  dns: stringOrList.optional(),
  dns_search: stringOrList.optional(),
  dns_opt: z.array(z.string()).optional(),
  group_add: z.array(z.union([z.string(), z.number()])).optional(),
  oom_score_adj: z.number().int().min(-1000).max(1000).optional(),
  oom_kill_disable: z.boolean().optional(),
  devices: z.array(z.union([z.string(), z.looseObject({ source: z.string(), target: z.string().optional(), permissions: z.string().optional() })])).optional(),
  logging: z.looseObject({ driver: z.string().optional(), options: z.record(z.string(), scalar).nullable().optional() }).optional(),
  ipc: z.string().optional(),
  pid: z.string().nullable().optional(),
  cpu_shares: integer.optional(),
  cpuset: z.string().optional(),
  cpu_quota: integer.optional(),
  cpu_period: integer.optional(),
  mem_reservation: size.optional(),
  memswap_limit: size.optional(),
  mem_swappiness: integer.optional(),
  cgroup_parent: z.string().optional(),
  userns_mode: z.string().optional(),
  uts: z.string().optional(),
  runtime: z.string().optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  tty: z.boolean().optional(),
  stdin_open: z.boolean().optional(),
});

const fileObject = z.looseObject({ file: z.string().optional(), environment: z.string().optional(), external: z.unknown().optional(), content: z.string().optional() });
const composeSchema = z.looseObject({
  name: z.string().optional(),
  services: z.record(z.string(), serviceSchema),
  secrets: z.record(z.string(), fileObject).optional(),
  configs: z.record(z.string(), fileObject).optional(),
});

type RawService = z.output<typeof serviceSchema>;
type Tree = Record<string, unknown>;

/** One file read, interpolated and checked for keys Compose does not know. */
interface LoadedFile {
  path: string;
  source: YamlSource;
  data: Tree;
}

/**
 * Reads compose files into typed service definitions, as Compose reads them: variables are
 * interpolated from the environment and the `.env` file beside the first file; several files merge
 * as Compose merges them; `extends` is resolved; services outside the active profiles are left
 * out. Keys Compose does not know are errors with a suggestion; keys qscale cannot honour are
 * refused with a reason (see compose-keys.ts).
 */
export function loadComposeFile(files: string | readonly string[], env: Environment = process.env, displayName?: string, options: LoadComposeOptions = {}): ComposeFile {
  const paths = (typeof files === 'string' ? [files] : [...files]).map((file) => path.resolve(file));
  const displayNames = options.displayNames ?? (typeof files === 'string' ? [displayName ?? files] : [...files]);
  const workingDir = path.dirname(paths[0]);
  const dotEnv = readDotEnv(workingDir, env);
  const effectiveEnv: Environment = { ...dotEnv, ...env };
  const unset: UnsetVariables = new Set();

  const loaded = paths.map((file, index) => loadOneFile(file, displayNames[index] ?? file, effectiveEnv, unset));
  const sources = loaded.map((file) => file.source);
  const merged = includeModels(
    loaded.slice(1).reduce((tree, file) => mergeComposeTrees(tree, file.data), loaded[0].data),
    { dir: workingDir, display: displayNames[0] ?? paths[0], sources, env, unset, chain: [paths[0]] },
  );
  const fail = (at: YamlPath, message: string): never => {
    throw configError(locateIn(sources, at, message));
  };

  const external = new Map<string, LoadedFile>(loaded.map((file) => [file.path, file]));
  const loadExternal = (file: string, shown: string) => {
    if (!external.has(file)) external.set(file, loadOneFile(file, shown, effectiveEnv, unset));
    return external.get(file) as LoadedFile;
  };
  const services = isTree(merged.services) ? (merged.services as Tree) : {};
  const resolved: Tree = {};
  for (const name of Object.keys(services)) {
    resolved[name] = resolveExtends({ services, dir: workingDir, sources, display: displayNames[0] ?? paths[0] }, name, [], loadExternal);
  }
  const parsed = parseLocated(composeSchema, withoutMergeTags({ ...merged, services: resolved }), (at, message) => configError(locateIn(sources, at, message)));

  for (const [name, raw] of Object.entries(parsed.services)) {
    for (const dependency of Object.keys(asMapping(raw.depends_on, 'depends_on'))) {
      if (!(dependency in parsed.services)) fail(['services', name, 'depends_on'], `depends on service "${dependency}", which is not defined`);
    }
  }

  const activeProfiles = options.profiles ?? (effectiveEnv.COMPOSE_PROFILES ?? '').split(',').map((profile) => profile.trim()).filter(Boolean);
  const isActive = (raw: RawService) => !raw.profiles || raw.profiles.length === 0 || raw.profiles.some((profile) => activeProfiles.includes(profile) || activeProfiles.includes('*'));
  const workers = options.workers === undefined ? undefined : new Set(options.workers);

  const result = new Map<string, ServiceDefinition>();
  const inactiveServices = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(parsed.services)) {
    const isWorker = workers === undefined || workers.has(name);
    if (!isActive(raw)) {
      inactiveServices.set(name, raw.profiles ?? []);
      if (workers?.has(name)) {
        const profiles = (raw.profiles ?? []).join(',');
        fail(['services', name, 'profiles'], `worker service "${name}" runs only with profile ${profiles}, which is not active; set COMPOSE_PROFILES=${profiles}`);
      }
      continue;
    }
    const definition = normaliseService({ sources, workingDir, topLevel: parsed, env: effectiveEnv }, name, raw, parsed.name);
    if (definition.unsupported && isWorker) throw configError(definition.unsupported);
    result.set(name, definition);
  }

  return {
    file: paths[0],
    files: paths,
    workingDir,
    name: parsed.name,
    dotEnv,
    services: result,
    inactiveServices,
    warnings: [...unset].map(unsetVariableWarning),
  };
}

function readDotEnv(workingDir: string, env: Environment, name = '.env'): Record<string, string> {
  const dotEnvPath = path.join(workingDir, name);
  if (!existsSync(dotEnvPath) || !statSync(dotEnvPath).isFile()) return {};
  try {
    return parseEnvFile(readFileSync(dotEnvPath, 'utf8'), env);
  } catch (error) {
    if (error instanceof EnvFileError) throw configError(`${dotEnvPath}: line ${error.line}: ${error.message}`);
    throw configError(`${dotEnvPath}: ${(error as Error).message}`);
  }
}

function loadOneFile(file: string, displayName: string, env: Environment, unset: UnsetVariables): LoadedFile {
  const source = readYamlFile(file, displayName, { customTags: COMPOSE_YAML_TAGS });
  if (!isTree(source.data)) throw configError(locate(source, [], 'a compose file must be a mapping with a services: section'));
  const raw = source.data as Tree;
  for (const key of Object.keys(raw)) {
    if (key.startsWith('x-') || (TOP_LEVEL_KEYS as readonly string[]).includes(key)) continue;
    const refused = REFUSED_TOP_LEVEL_KEYS[key];
    throw configError(locate(source, [key], refused ? `"${key}" is not supported: ${refused}` : unknownKeyMessage(key, [...TOP_LEVEL_KEYS, ...Object.keys(REFUSED_TOP_LEVEL_KEYS)])));
  }
  for (const [section, entryKeys] of Object.entries(TOP_LEVEL_ENTRY_KEYS)) {
    for (const [name, entry] of Object.entries(isTree(raw[section]) ? (raw[section] as Tree) : {})) {
      const bad = isTree(entry) ? Object.keys(entry).find((key) => !key.startsWith('x-') && !entryKeys.includes(key)) : undefined;
      if (bad) throw configError(locate(source, [section, name, bad], unknownKeyMessage(bad, entryKeys)));
    }
  }
  const known = knownServiceKeys();
  for (const [name, service] of Object.entries(isTree(raw.services) ? (raw.services as Tree) : {})) {
    if (!isTree(service)) continue;
    for (const key of Object.keys(service)) {
      if (key.startsWith('x-') || known.includes(key)) continue;
      throw configError(locate(source, ['services', name, key], unknownKeyMessage(key, known)));
    }
    checkNestedKeys(
      service,
      (at, message) => {
        throw configError(locate(source, ['services', name, ...at], message));
      },
      () => {},
    );
  }
  let data: unknown;
  try {
    data = interpolateTree(raw, env, unset);
  } catch (error) {
    throw configError(locate(source, (error as { path?: YamlPath }).path ?? [], (error as Error).message));
  }
  return { path: file, source, data: data as Tree };
}

const INCLUDE_KEYS = ['path', 'project_directory', 'env_file'];

interface IncludeScope {
  /** The including model's folder: include paths are relative to it. */
  dir: string;
  display: string;
  /** Every file read so far; included ones are added, so errors can be located in them. */
  sources: YamlSource[];
  env: Environment;
  unset: UnsetVariables;
  /** Files including one another down to here, to refuse a cycle. */
  chain: string[];
}

/**
 * The model with its `include:` entries taken in, as Compose includes them: each included file is
 * a model of its own (its folder's .env, its relative paths, its own includes and extends), whose
 * services, secrets and configs join this one; a name defined twice is an error.
 */
function includeModels(tree: Tree, scope: IncludeScope): Tree {
  const entries = tree.include;
  if (entries === undefined) return tree;
  const { include: _include, ...result } = tree;
  const fail = (at: YamlPath, message: string): never => {
    throw configError(locateIn(scope.sources, at, message));
  };
  if (!Array.isArray(entries)) fail(['include'], 'must be a list of compose files');
  for (const [index, entry] of (entries as unknown[]).entries()) {
    const at: YamlPath = ['include', index];
    const spec = typeof entry === 'string' ? { path: entry } : isTree(entry) ? entry : fail(at, 'must be a path or a mapping with path:');
    const unknownKey = Object.keys(spec).find((key) => !INCLUDE_KEYS.includes(key));
    if (unknownKey) fail([...at, unknownKey], unknownKeyMessage(unknownKey, INCLUDE_KEYS));
    const relative = typeof spec.path === 'string' ? [spec.path] : Array.isArray(spec.path) ? spec.path.map(String) : fail(at, 'needs path: the compose file(s) to include');
    const files = relative.map((file) => path.resolve(scope.dir, file));
    for (const [fileIndex, file] of files.entries()) {
      if (!existsSync(file)) fail(at, `included file ${relative[fileIndex]} not found`);
      if (scope.chain.includes(file)) fail(at, `including ${relative[fileIndex]} forms a cycle`);
    }
    const projectDir = typeof spec.project_directory === 'string' ? path.resolve(scope.dir, spec.project_directory) : path.dirname(files[0]);
    const envFile = typeof spec.env_file === 'string' ? path.resolve(scope.dir, spec.env_file) : path.join(projectDir, '.env');
    const env: Environment = { ...readDotEnv(path.dirname(envFile), scope.env, path.basename(envFile)), ...scope.env };
    const shown = relative.map((file) => path.join(path.dirname(scope.display), file));
    const loaded = files.map((file, fileIndex) => loadOneFile(file, shown[fileIndex], env, scope.unset));
    scope.sources.push(...loaded.map((file) => file.source));
    const model = includeModels(
      loaded.slice(1).reduce((merged, file) => mergeComposeTrees(merged, file.data), loaded[0].data),
      { ...scope, dir: projectDir, display: shown[0], env, chain: [...scope.chain, ...files] },
    );
    // Its services with their extends resolved in their own folder, and their paths made absolute.
    const services = isTree(model.services) ? (model.services as Tree) : {};
    const noExternal = (file: string, display: string) => loadOneFile(file, display, env, scope.unset);
    for (const name of Object.keys(services)) {
      const own = resolveExtends({ services, dir: projectDir, sources: scope.sources, display: shown[0] }, name, [], noExternal);
      const target = (result.services ??= {}) as Tree;
      if (name in target) fail(at, `service "${name}" of ${relative.join(', ')} is already defined`);
      target[name] = rebasePaths(own, projectDir);
    }
    for (const section of ['secrets', 'configs', 'networks', 'volumes']) {
      if (!isTree(model[section])) continue;
      const target = (result[section] ??= {}) as Tree;
      for (const [name, value] of Object.entries(model[section] as Tree)) {
        if (name in target) fail(at, `${section.slice(0, -1)} "${name}" of ${relative.join(', ')} is already defined`);
        target[name] = isTree(value) && typeof value.file === 'string' ? { ...value, file: path.resolve(projectDir, value.file) } : value;
      }
    }
  }
  return result;
}

interface ExtendsScope {
  services: Tree;
  /** Folder relative paths of this scope are resolved against. */
  dir: string;
  sources: YamlSource[];
  display: string;
}

/** A service with its `extends` chain merged in: the base first, the extending service over it. */
function resolveExtends(scope: ExtendsScope, name: string, chain: string[], loadExternal: (file: string, shown: string) => LoadedFile): Tree {
  const service = scope.services[name];
  if (!isTree(service)) return service as Tree;
  const link = `${scope.display}:${name}`;
  if (chain.includes(link)) {
    throw configError(locateIn(scope.sources, ['services', name, 'extends'], `extends forms a cycle: ${[...chain, link].map((item) => item.split(':').pop()).join(' → ')}`));
  }
  const spec = service.extends;
  if (spec === undefined) return service as Tree;
  const at: YamlPath = ['services', name, 'extends'];
  const fail = (message: string): never => {
    throw configError(locateIn(scope.sources, at, message));
  };
  const target = typeof spec === 'string' ? { service: spec } : isTree(spec) ? spec : fail('must be a service name or a mapping with service: (and file:)');
  if (typeof target.service !== 'string') fail('needs service: the name of the service to extend');
  const baseName = target.service as string;
  let baseScope = scope;
  if (target.file !== undefined) {
    if (typeof target.file !== 'string') fail('file: must be a path');
    const file = path.resolve(scope.dir, target.file as string);
    if (!existsSync(file)) fail(`file ${target.file} not found`);
    const other = loadExternal(file, path.join(path.dirname(scope.display), target.file as string));
    baseScope = { services: isTree(other.data.services) ? (other.data.services as Tree) : {}, dir: path.dirname(file), sources: [other.source], display: other.source.file };
  }
  if (!isTree(baseScope.services[baseName])) fail(`extends service "${baseName}", which is not defined in ${baseScope.display}`);
  let base = resolveExtends(baseScope, baseName, [...chain, link], loadExternal);
  if (baseScope.dir !== scope.dir) base = rebasePaths(base, baseScope.dir);
  const { extends: _extends, ...own } = service;
  return mergeService(base, own);
}

/** Relative paths of a service taken from another folder's file, made absolute (as Compose rebases them). */
function rebasePaths(service: Tree, dir: string): Tree {
  const rebase = (value: string) => (path.isAbsolute(value) || value.startsWith('~') ? value : path.resolve(dir, value));
  const result: Tree = { ...service };
  if (typeof result.env_file === 'string') result.env_file = rebase(result.env_file);
  else if (Array.isArray(result.env_file)) result.env_file = result.env_file.map((item) => (typeof item === 'string' ? rebase(item) : isTree(item) && typeof item.path === 'string' ? { ...item, path: rebase(item.path) } : item));
  if (typeof result.build === 'string') result.build = rebase(result.build);
  else if (isTree(result.build) && typeof result.build.context === 'string') result.build = { ...result.build, context: rebase(result.build.context) };
  if (Array.isArray(result.volumes)) {
    result.volumes = result.volumes.map((volume) => {
      if (typeof volume === 'string') {
        const [source, ...rest] = volume.split(':');
        return rest.length > 0 && source.startsWith('.') ? [rebase(source), ...rest].join(':') : volume;
      }
      return isTree(volume) && volume.type === 'bind' && typeof volume.source === 'string' ? { ...volume, source: rebase(volume.source) } : volume;
    });
  }
  return result;
}

interface NormaliseContext {
  sources: YamlSource[];
  workingDir: string;
  topLevel: z.output<typeof composeSchema>;
  env: Environment;
}

function normaliseService(context: NormaliseContext, name: string, raw: RawService, projectName?: string): ServiceDefinition {
  const { sources, workingDir } = context;
  const at = (...rest: Array<string | number>): YamlPath => ['services', name, ...rest];
  const fail = (rest: Array<string | number>, message: string): never => {
    throw configError(locateIn(sources, at(...rest), message));
  };
  // What qscale cannot honour is recorded, not thrown: only a worker's is an error.
  let unsupported: string | undefined;
  const refuse = (rest: Array<string | number>, message: string) => {
    unsupported ??= locateIn(sources, at(...rest), message);
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
  const bytesOf = (value: string | number | undefined, rest: Array<string | number>) => {
    if (value === undefined) return undefined;
    return parseBytes(value) ?? fail(rest, `"${value}" is not a size (examples: 256m, 1g)`);
  };
  const integerOf = (value: string | number | undefined) => (value === undefined ? undefined : Number(value));

  for (const [key, reason] of Object.entries(REFUSED_SERVICE_KEYS)) {
    if (key in raw) refuse([key], `"${key}" is not supported: ${reason}`);
  }
  checkNestedKeys(raw, () => {}, refuse);
  if (raw.pull_policy !== undefined && !['never', 'missing', 'if_not_present', 'build'].includes(raw.pull_policy)) {
    refuse(['pull_policy'], `pull_policy "${raw.pull_policy}" is not supported: ${ACCEPTED_SERVICE_KEYS.pull_policy}`);
  }

  // With host networking the engine discards published ports (as Compose says); otherwise qscale
  // would start the container unpublished, so it refuses.
  if ((raw.ports ?? []).length > 0 && raw.network_mode !== 'host') refuse(['ports'], 'published ports are not supported: qscale does not publish ports; use network_mode: host');

  const environment: Record<string, string> = {};
  const envFiles = raw.env_file === undefined ? [] : Array.isArray(raw.env_file) ? raw.env_file : [raw.env_file];
  for (const [index, entry] of envFiles.entries()) {
    const file = typeof entry === 'string' ? entry : entry.path;
    const required = typeof entry === 'string' ? true : entry.required !== false;
    const where = ['env_file', ...(Array.isArray(raw.env_file) ? [index] : [])];
    const envPath = path.resolve(workingDir, file);
    if (!existsSync(envPath)) {
      if (required) fail(where, `env file ${file} not found`);
      continue;
    }
    try {
      Object.assign(environment, parseEnvFile(readFileSync(envPath, 'utf8'), context.env));
    } catch (error) {
      if (error instanceof EnvFileError) fail(where, `${file}: line ${error.line}: ${error.message}`);
      throw error;
    }
  }
  Object.assign(environment, toStringMap(raw.environment, true, context.env));

  if (!raw.image && raw.build === undefined) fail([], 'has neither image nor build');
  const image = raw.image ?? `${projectName ?? path.basename(workingDir)}-${name}`;

  const binds: string[] = [];
  for (const [index, volume] of (raw.volumes ?? []).entries()) {
    if (typeof volume === 'string') {
      const [sourcePath, target, mode] = volume.split(':');
      if (!target) refuse(['volumes', index], 'anonymous volumes are not supported; use a bind mount host:container');
      else if (!/^[./~]/.test(sourcePath)) refuse(['volumes', index], `named volume "${sourcePath}" is not supported; use a bind mount`);
      else binds.push(`${path.resolve(workingDir, sourcePath.replace(/^~/, context.env.HOME ?? '~'))}:${target}${mode ? `:${mode}` : ''}`);
    } else if (volume.type !== 'bind' || !volume.source) refuse(['volumes', index], `volume type "${volume.type}" is not supported; use type: bind`);
    else binds.push(`${path.resolve(workingDir, volume.source)}:${volume.target}${volume.read_only ? ':ro' : ''}`);
  }
  // File-based secrets and configs are bind-mounted read-only, where Compose mounts them.
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [index, reference] of (raw[kind] ?? []).entries()) {
      const sourceName = typeof reference === 'string' ? reference : reference.source;
      const declared = context.topLevel[kind]?.[sourceName];
      if (!declared) {
        fail([kind, index], `${kind === 'secrets' ? 'secret' : 'config'} "${sourceName}" is not declared under the top-level ${kind}:`);
        continue;
      }
      if (typeof reference !== 'string' && (reference.uid !== undefined || reference.gid !== undefined || reference.mode !== undefined)) {
        refuse([kind, index], `uid, gid and mode are not supported for ${kind}: qscale bind-mounts the file as it is`);
      }
      if (declared.file === undefined) {
        refuse([kind, index], `${kind === 'secrets' ? 'secret' : 'config'} "${sourceName}" is not supported: only file: ${kind} can be mounted by qscale`);
        continue;
      }
      const target = typeof reference === 'string' ? undefined : reference.target;
      const mountPoint = kind === 'secrets' ? (target?.startsWith('/') ? target : `/run/secrets/${target ?? sourceName}`) : (target ?? `/${sourceName}`);
      binds.push(`${path.resolve(workingDir, declared.file)}:${mountPoint}:ro`);
    }
  }

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
  const memoryBytes = memory === undefined ? undefined : (parseBytes(memory) ?? fail(['deploy', 'resources', 'limits', 'memory'], `"${memory}" is not a size (examples: 256m, 1g)`));

  const replicas = raw.deploy?.replicas ?? raw.scale;
  if (raw.deploy?.replicas !== undefined && raw.scale !== undefined && raw.deploy.replicas !== raw.scale) {
    fail(['scale'], `scale (${raw.scale}) and deploy.replicas (${raw.deploy.replicas}) disagree`);
  }

  // deploy.restart_policy stands for restart: when restart: is not written, as in Compose.
  const policy = raw.deploy?.restart_policy;
  const restart =
    raw.restart ??
    (policy?.condition === undefined ? undefined : policy.condition === 'none' ? 'no' : policy.condition === 'any' ? 'always' : `on-failure${policy.max_attempts ? `:${policy.max_attempts}` : ''}`);

  const listOf = (value: string | string[] | undefined) => (value === undefined ? undefined : Array.isArray(value) ? value : [value]);
  const hostOptions: HostOptions = {
    CapAdd: raw.cap_add,
    CapDrop: raw.cap_drop,
    Privileged: raw.privileged,
    ReadonlyRootfs: raw.read_only,
    SecurityOpt: raw.security_opt,
    Sysctls: raw.sysctls === undefined ? undefined : toStringMap(raw.sysctls, false, {}),
    Tmpfs: raw.tmpfs === undefined ? undefined : Object.fromEntries(listOf(raw.tmpfs)!.map((entry) => {
      const colon = entry.indexOf(':');
      return colon === -1 ? [entry, ''] : [entry.slice(0, colon), entry.slice(colon + 1)];
    })),
    Ulimits: raw.ulimits === undefined ? undefined : Object.entries(raw.ulimits).map(([limit, value]) =>
      typeof value === 'object' ? { Name: limit, Soft: Number(value.soft), Hard: Number(value.hard) } : { Name: limit, Soft: Number(value), Hard: Number(value) },
    ),
    ShmSize: bytesOf(raw.shm_size, ['shm_size']),
    PidsLimit: integerOf(limits?.pids ?? raw.pids_limit),
    ExtraHosts: raw.extra_hosts === undefined ? undefined : Object.entries(asMapping(raw.extra_hosts, 'extra_hosts')).flatMap(([host, ip]) => (Array.isArray(ip) ? ip : [ip]).map((address) => `${host}:${String(address)}`)),
    Dns: listOf(raw.dns),
    DnsSearch: listOf(raw.dns_search),
    DnsOptions: raw.dns_opt,
    GroupAdd: raw.group_add?.map(String),
    OomScoreAdj: raw.oom_score_adj,
    OomKillDisable: raw.oom_kill_disable,
    Devices: raw.devices?.map((device) => {
      if (typeof device !== 'string') return { PathOnHost: device.source, PathInContainer: device.target ?? device.source, CgroupPermissions: device.permissions ?? 'rwm' };
      const [host, container, permissions] = device.split(':');
      return { PathOnHost: host, PathInContainer: container ?? host, CgroupPermissions: permissions ?? 'rwm' };
    }),
    LogConfig: raw.logging === undefined ? undefined : { Type: raw.logging.driver ?? 'json-file', Config: toStringMap(raw.logging.options ?? undefined, false, {}) },
    IpcMode: raw.ipc,
    PidMode: raw.pid ?? undefined,
    CpuShares: integerOf(raw.cpu_shares),
    CpusetCpus: raw.cpuset,
    CpuQuota: integerOf(raw.cpu_quota),
    CpuPeriod: integerOf(raw.cpu_period),
    MemoryReservation: bytesOf(raw.deploy?.resources?.reservations?.memory ?? raw.mem_reservation, ['mem_reservation']),
    MemorySwap: raw.memswap_limit === -1 || raw.memswap_limit === '-1' ? -1 : bytesOf(raw.memswap_limit, ['memswap_limit']),
    MemorySwappiness: integerOf(raw.mem_swappiness),
    CgroupParent: raw.cgroup_parent,
    UsernsMode: raw.userns_mode,
    UTSMode: raw.uts,
    Runtime: raw.runtime,
  };
  const setHostOptions = Object.fromEntries(Object.entries(hostOptions).filter(([, value]) => value !== undefined)) as HostOptions;
  const containerOptions: ContainerOptions = { Hostname: raw.hostname, Domainname: raw.domainname, Tty: raw.tty, OpenStdin: raw.stdin_open };
  const setContainerOptions = Object.fromEntries(Object.entries(containerOptions).filter(([, value]) => value !== undefined)) as ContainerOptions;

  return {
    name,
    image,
    hasBuild: raw.build !== undefined,
    command: words(raw.command, 'command'),
    entrypoint: words(raw.entrypoint, 'entrypoint'),
    environment,
    labels: toStringMap(raw.labels, false, {}),
    networkMode: raw.network_mode,
    init: raw.init,
    user: raw.user === undefined ? undefined : String(raw.user),
    workingDir: raw.working_dir,
    binds,
    stopSignal: raw.stop_signal,
    stopGracePeriodMs: durationOf(raw.stop_grace_period, ['stop_grace_period']),
    healthcheck,
    restart,
    nanoCpus,
    memoryBytes,
    containerName: raw.container_name,
    ports: (raw.ports ?? []).map((port) => (typeof port === 'object' ? JSON.stringify(port) : String(port))),
    profiles: raw.profiles ?? [],
    replicas,
    hostOptions: Object.keys(setHostOptions).length > 0 ? setHostOptions : undefined,
    containerOptions: Object.keys(setContainerOptions).length > 0 ? setContainerOptions : undefined,
    unsupported,
  };
}

/** `file: path: message (line N)` in the last file that writes that path (the one that won the merge). */
function locateIn(sources: readonly YamlSource[], at: YamlPath, message: string): string {
  for (let depth = at.length; depth >= 0; depth--) {
    const prefix = at.slice(0, depth);
    const source = [...sources].reverse().find((candidate) => hasPath(candidate.data, prefix));
    if (source) return locate(source, at, message);
  }
  return locate(sources[0], at, message);
}

function hasPath(data: unknown, at: YamlPath): boolean {
  let node = data;
  for (const key of at) {
    if (node === null || typeof node !== 'object' || !(key in (node as object))) return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  return true;
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toStringMap(value: Record<string, string | number | boolean | null> | string[] | undefined, fromHost: boolean, env: Environment): Record<string, string> {
  const result: Record<string, string> = {};
  if (!value) return result;
  for (const [key, item] of Object.entries(asMapping(value, 'environment'))) {
    if (item === null || item === undefined) {
      const inherited = fromHost ? env[key] : '';
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
