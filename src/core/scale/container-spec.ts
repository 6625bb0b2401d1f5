import { COMPOSE_VERSION, containerName, defaultNetworkName, LABEL } from '../compose-labels.js';
import type { ServiceDefinition } from '../config/compose-file.js';
import type { ContainerSpec, ContainerSummary } from '../ports/container-engine.js';
import { stableHash } from '../stable-hash.js';
import { STOP_TIMEOUT_ENV } from '../../../templates/worker/src/protocol.js';

export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface ProjectIdentity {
  name: string;
  workingDir: string;
  configFiles: string[];
}

/**
 * A stable hash of everything a container is created from. Compose's own config-hash cannot be
 * reproduced outside Compose, so this is qscale's; it tells outdated containers apart.
 */
export function specHash(definition: ServiceDefinition): string {
  // Profiles, the replica count and a non-worker's refusal don't change what a container is made of.
  const { profiles: _profiles, replicas: _replicas, unsupported: _unsupported, ...relevant } = definition;
  return stableHash(relevant);
}


/** Is this container built from the current definition? Compose-made ones are judged by image. */
export function isOutdated(container: ContainerSummary, currentHash: string, definition: ServiceDefinition): boolean {
  const ownHash = container.labels[LABEL.specHash];
  if (ownHash !== undefined) return ownHash !== currentHash;
  return container.image !== definition.image;
}

/**
 * The Compose labels a new container gets. Where a sibling container of the same definition
 * exists (made by Compose itself, say), its config-hash and version are reused so Compose sees
 * one consistent service.
 */
export function composeLabels(project: ProjectIdentity, definition: ServiceDefinition, number: number, hash: string, sibling?: ContainerSummary): Record<string, string> {
  return {
    ...definition.labels,
    [LABEL.project]: project.name,
    [LABEL.service]: definition.name,
    [LABEL.containerNumber]: String(number),
    [LABEL.oneoff]: 'False',
    [LABEL.configHash]: sibling?.labels[LABEL.configHash] ?? hash,
    [LABEL.workingDir]: project.workingDir,
    [LABEL.configFiles]: project.configFiles.join(','),
    [LABEL.version]: sibling?.labels[LABEL.version] ?? COMPOSE_VERSION,
    [LABEL.image]: definition.image,
    [LABEL.specHash]: hash,
  };
}

export function containerSpec(project: ProjectIdentity, definition: ServiceDefinition, number: number, labels: Record<string, string>): ContainerSpec {
  const ms = 1_000_000;
  const check = definition.healthcheck;
  const stopTimeoutSeconds = Math.ceil(stopGraceMs(definition) / 1000);
  return {
    name: containerName(project.name, definition.name, number),
    image: definition.image,
    command: definition.command,
    entrypoint: definition.entrypoint,
    env: workerEnvironment(definition, stopTimeoutSeconds * 1000),
    labels,
    user: definition.user,
    workingDir: definition.workingDir,
    stopSignal: definition.stopSignal,
    stopTimeoutSeconds,
    healthcheck: check && {
      test: check.test,
      intervalNs: check.intervalMs === undefined ? undefined : check.intervalMs * ms,
      timeoutNs: check.timeoutMs === undefined ? undefined : check.timeoutMs * ms,
      retries: check.retries,
      startPeriodNs: check.startPeriodMs === undefined ? undefined : check.startPeriodMs * ms,
    },
    networkMode: definition.networkMode ?? defaultNetworkName(project.name),
    init: definition.init,
    binds: definition.binds,
    restartPolicy: restartPolicy(definition.restart),
    nanoCpus: definition.nanoCpus,
    memoryBytes: definition.memoryBytes,
    hostOptions: definition.hostOptions,
    containerOptions: definition.containerOptions,
  };
}

export function stopGraceMs(definition: ServiceDefinition): number {
  return definition.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS;
}

/**
 * The service's environment as `KEY=value` lines, with STOP_TIMEOUT_ENV set to the stop timeout the
 * engine gives the container before SIGKILL: the worker derives its drain deadline from it. Docker
 * takes whole seconds for a container, Swarm the grace as it is, so each backend passes its own.
 */
export function workerEnvironment(definition: ServiceDefinition, engineStopTimeoutMs: number): string[] {
  const lines = Object.entries(definition.environment).filter(([key]) => key !== STOP_TIMEOUT_ENV).map(([key, value]) => `${key}=${value}`);
  return [...lines, `${STOP_TIMEOUT_ENV}=${engineStopTimeoutMs}`];
}

function restartPolicy(restart: string | undefined): ContainerSpec['restartPolicy'] {
  if (!restart || restart === 'no') return undefined;
  const [name, retries] = restart.split(':');
  return { name, maximumRetryCount: retries ? Number(retries) : undefined };
}
