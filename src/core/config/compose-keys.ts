/**
 * Every key a Compose service may have (compose-spec), and what qscale does with it: applies it,
 * accepts it with a documented reason, or refuses it with a one-line reason. A key outside this
 * list is not Compose at all (a typo, usually) and is refused with the nearest known key.
 */

/** Keys qscale applies to the containers it creates, or resolves while loading. */
export const APPLIED_SERVICE_KEYS = [
  'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'labels', 'network_mode', 'init', 'user',
  'working_dir', 'volumes', 'stop_signal', 'stop_grace_period', 'healthcheck', 'restart', 'cpus', 'mem_limit',
  'deploy', 'container_name', 'ports', 'scale', 'extends', 'profiles', 'secrets', 'configs',
  // Engine host settings, passed through to the container's HostConfig.
  'cap_add', 'cap_drop', 'privileged', 'read_only', 'security_opt', 'sysctls', 'tmpfs', 'ulimits', 'shm_size',
  'pids_limit', 'extra_hosts', 'dns', 'dns_search', 'dns_opt', 'group_add', 'oom_score_adj', 'oom_kill_disable',
  'devices', 'logging', 'ipc', 'pid', 'cpu_shares', 'cpuset', 'cpu_quota', 'cpu_period', 'mem_reservation',
  'memswap_limit', 'mem_swappiness', 'cgroup_parent', 'userns_mode', 'uts', 'runtime',
  // Container settings beside HostConfig.
  'hostname', 'domainname', 'tty', 'stdin_open',
] as const;

/** Keys Compose knows that have no effect on a container qscale creates; why each is accepted. */
export const ACCEPTED_SERVICE_KEYS: Record<string, string> = {
  depends_on: 'qscale scales worker services only; start order is not applied (dependencies must exist)',
  pull_policy: 'qscale never pulls; a missing image is an error',
};

/** Keys Compose knows that qscale cannot honour; refusing them beats silently dropping them. */
export const REFUSED_SERVICE_KEYS: Record<string, string> = {
  networks: 'qscale attaches containers to network_mode or the project\'s default network only; use network_mode',
  links: 'links are legacy networking qscale does not create; use network_mode: host',
  external_links: 'links are legacy networking qscale does not create; use network_mode: host',
  volumes_from: 'qscale does not share volumes between containers; use bind mounts',
  mac_address: 'qscale does not set MAC addresses (replicas would collide)',
  expose: 'qscale does not record exposed ports; workers use host networking',
  attach: 'qscale does not attach to containers',
  platform: 'qscale does not select image platforms',
  gpus: 'qscale does not request GPUs',
  isolation: 'container isolation modes are Windows-only',
  cpu_count: 'cpu_count is Windows-only; use cpus',
  cpu_percent: 'cpu_percent is Windows-only; use cpus',
  cpu_rt_period: 'qscale does not set real-time CPU scheduling',
  cpu_rt_runtime: 'qscale does not set real-time CPU scheduling',
  blkio_config: 'qscale does not set block-IO limits',
  device_cgroup_rules: 'qscale does not set device cgroup rules',
  cgroup: 'qscale does not set the cgroup namespace',
  credential_spec: 'credential specs are Windows-only',
  storage_opt: 'qscale does not set storage driver options',
  annotations: 'qscale does not set container annotations',
  label_file: 'qscale does not read label files; use labels',
  develop: 'Compose Watch is not part of qscale',
  post_start: 'qscale does not run lifecycle hooks',
  pre_stop: 'qscale does not run lifecycle hooks',
  provider: 'qscale does not run provider services',
  models: 'qscale does not provide models',
  use_api_socket: 'qscale does not mount the Docker API socket',
  pull_refresh_after: 'qscale never pulls',
};

export const TOP_LEVEL_KEYS = ['version', 'name', 'include', 'services', 'networks', 'volumes', 'secrets', 'configs'] as const;

/** The keys of one entry of the top-level secrets: and configs:. */
export const TOP_LEVEL_ENTRY_KEYS: Record<string, readonly string[]> = {
  secrets: ['file', 'environment', 'external', 'name', 'labels', 'driver', 'driver_opts', 'template_driver'],
  configs: ['file', 'environment', 'content', 'external', 'name', 'labels', 'template_driver'],
};

/** Top-level keys Compose knows that qscale refuses. */
export const REFUSED_TOP_LEVEL_KEYS: Record<string, string> = {
  models: 'qscale does not provide models',
};

/**
 * The keys Compose knows inside a service's mappings, by path below the service (`*` stands for
 * any name, `[]` for a list item). A key that is known here but listed in NESTED_REFUSED is one
 * qscale cannot honour.
 */
export const NESTED_SERVICE_KEYS: Record<string, readonly string[]> = {
  healthcheck: ['test', 'interval', 'timeout', 'retries', 'start_period', 'start_interval', 'disable'],
  deploy: ['mode', 'replicas', 'labels', 'update_config', 'rollback_config', 'restart_policy', 'placement', 'endpoint_mode', 'resources'],
  'deploy.resources': ['limits', 'reservations'],
  'deploy.resources.limits': ['cpus', 'memory', 'pids'],
  'deploy.resources.reservations': ['cpus', 'memory', 'generic_resources', 'devices'],
  'deploy.restart_policy': ['condition', 'delay', 'max_attempts', 'window'],
  logging: ['driver', 'options'],
  extends: ['service', 'file'],
  'ulimits.*': ['soft', 'hard'],
  'depends_on.*': ['condition', 'restart', 'required'],
  'volumes[]': ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'],
  'secrets[]': ['source', 'target', 'uid', 'gid', 'mode'],
  'configs[]': ['source', 'target', 'uid', 'gid', 'mode'],
  'devices[]': ['source', 'target', 'permissions'],
  'env_file[]': ['path', 'required', 'format'],
};

/** Nested keys Compose knows that qscale cannot honour, with the reason. */
export const NESTED_REFUSED: Record<string, string> = {
  'healthcheck.start_interval': 'start_interval needs Docker Engine 25; qscale does not set it',
  'deploy.resources.reservations.cpus': 'qscale does not reserve CPUs; use deploy.resources.limits.cpus',
  'deploy.resources.reservations.devices': 'qscale does not reserve devices (GPUs)',
  'deploy.resources.reservations.generic_resources': 'qscale does not reserve generic resources',
  'deploy.restart_policy.delay': 'the engine\'s restart policy has no delay; qscale does not apply it',
  'deploy.restart_policy.window': 'the engine\'s restart policy has no window; qscale does not apply it',
  'volumes[].bind': 'bind options (propagation, create_host_path, selinux) are not applied by qscale',
  'volumes[].volume': 'named volumes are not supported; use a bind mount',
  'volumes[].tmpfs': 'tmpfs volumes are not applied by qscale; use the tmpfs: key',
  'volumes[].image': 'image volumes are not supported; use a bind mount',
  'env_file[].format': 'qscale reads env files in Compose\'s default format only',
};

/**
 * Checks the mappings inside one service against NESTED_SERVICE_KEYS. Calls `unknown` for a key
 * Compose does not know (with the message) and `refused` for one qscale cannot honour.
 */
export function checkNestedKeys(
  service: Record<string, unknown>,
  unknown: (at: Array<string | number>, message: string) => void,
  refused: (at: Array<string | number>, message: string) => void,
): void {
  const visit = (value: unknown, pattern: string, at: Array<string | number>) => {
    if (Array.isArray(value)) {
      const known = NESTED_SERVICE_KEYS[`${pattern}[]`];
      if (known) value.forEach((item, index) => checkMapping(item, `${pattern}[]`, [...at, index], known));
      return;
    }
    const known = NESTED_SERVICE_KEYS[pattern];
    if (known) checkMapping(value, pattern, at, known);
    const named = NESTED_SERVICE_KEYS[`${pattern}.*`];
    if (named && isMapping(value)) for (const [name, item] of Object.entries(value)) checkMapping(item, `${pattern}.*`, [...at, name], named);
  };
  const checkMapping = (value: unknown, pattern: string, at: Array<string | number>, known: readonly string[]) => {
    if (!isMapping(value)) return;
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('x-')) continue;
      if (!known.includes(key)) {
        unknown([...at, key], unknownKeyMessage(key, known));
        continue;
      }
      const reason = NESTED_REFUSED[`${pattern}.${key}`];
      if (reason) refused([...at, key], `"${key}" is not supported: ${reason}`);
      visit(item, `${pattern}.${key}`, [...at, key]);
    }
  };
  for (const [key, value] of Object.entries(service)) visit(value, key, [key]);
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The one-line reason qscale refuses a Compose key, or undefined when it is applied or accepted. */
export function refusedServiceKey(key: string): string | undefined {
  return REFUSED_SERVICE_KEYS[key];
}

/** Every service key Compose knows. */
export function knownServiceKeys(): string[] {
  return [...APPLIED_SERVICE_KEYS, ...Object.keys(ACCEPTED_SERVICE_KEYS), ...Object.keys(REFUSED_SERVICE_KEYS)];
}

/** The known key nearest to a misspelt one, when it is near enough to be what was meant. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = levenshtein(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** `unknown key "x"`, with the nearest known key when there is one. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = suggestKey(key, known);
  return `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
}
