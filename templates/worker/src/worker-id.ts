/**
 * The short id of the container this process runs in, from /proc/self/mountinfo: Docker bind-mounts
 * /etc/hostname and /etc/hosts from /var/lib/docker/containers/<id>/. Under host networking the
 * hostname is the host's, so it cannot tell replicas apart.
 */
export function containerIdFromMountinfo(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const mountPoint = fields[4];
    if (mountPoint !== '/etc/hostname' && mountPoint !== '/etc/hosts') continue;
    const match = /\/containers\/([0-9a-f]{64})\//.exec(line);
    if (match) return match[1].slice(0, 12);
  }
  return undefined;
}

/** The container id, else the WORKER_ID the environment gives, else the hostname. */
export function resolveWorkerId(mountinfo: string | undefined, fromEnv: string | undefined, hostname: string): string {
  return (mountinfo && containerIdFromMountinfo(mountinfo)) || fromEnv || hostname;
}
