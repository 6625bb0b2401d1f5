/** The labels Docker Compose puts on its containers, and qscale's own. One place for wire names. */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  version: 'com.docker.compose.version',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  /** qscale's hash of the service definition, to tell outdated containers apart. */
  specHash: 'io.qscale.spec-hash',
} as const;

/**
 * The Compose version qscale's containers claim when no sibling container tells a better one.
 * Compose v2 writes its own version here; neither v1 nor v2 reads it back to select containers.
 */
export const COMPOSE_VERSION = '2.24.0';

/** Compose v2's container name: <project>-<service>-<number>. */
export function containerName(project: string, service: string, number: number): string {
  return `${project}-${service}-${number}`;
}

export function defaultNetworkName(project: string): string {
  return `${project}_default`;
}

export function projectFilter(project: string): string[] {
  return [`${LABEL.project}=${project}`, `${LABEL.oneoff}=False`];
}

export function serviceFilter(project: string, service: string): string[] {
  return [...projectFilter(project), `${LABEL.service}=${service}`];
}

/** The labels `docker stack deploy` puts on a stack's services and task containers; qscale's Swarm services carry them too. */
export const STACK_LABEL = {
  namespace: 'com.docker.stack.namespace',
  image: 'com.docker.stack.image',
} as const;

/** The attribute a Swarm service's log messages name their task by (with `details`). */
export const SWARM_TASK_ID_ATTRIBUTE = 'com.docker.swarm.task.id';

/** `docker stack`'s service name: <project>_<service>. */
export function stackServiceName(project: string, service: string): string {
  return `${project}_${service}`;
}

export function stackFilter(project: string): string[] {
  return [`${STACK_LABEL.namespace}=${project}`];
}
