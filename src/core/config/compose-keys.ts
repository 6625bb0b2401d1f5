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
  hostname: 'qscale does not set a container hostname',
  domainname: 'qscale does not set a container domain name',
  mac_address: 'qscale does not set MAC addresses (replicas would collide)',
  expose: 'qscale does not record exposed ports; workers use host networking',
  tty: 'qscale does not allocate a terminal for workers',
  stdin_open: 'qscale does not keep stdin open for workers',
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

export const TOP_LEVEL_KEYS = ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'] as const;

/** Top-level keys Compose knows that qscale refuses. */
export const REFUSED_TOP_LEVEL_KEYS: Record<string, string> = {
  include: 'qscale does not read included compose files; pass them with -f',
  models: 'qscale does not provide models',
};

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
