import { LABEL, STACK_LABEL, stackServiceName } from '../compose-labels.js';
import type { ServiceDefinition } from '../config/compose-file.js';
import { usageError } from '../errors.js';
import { stopGraceMs, workerEnvironment } from '../scale/container-spec.js';
import type { SwarmServiceSpec } from '../ports/swarm.js';
import { stableHash } from '../stable-hash.js';

const NS_PER_MS = 1_000_000;

/**
 * The Swarm service a compose service runs as, the way `docker stack deploy` would convert it:
 * command → Args, entrypoint → Command, restart → restart policy, limits → resources. The spec
 * hash label (over everything but the replica count) tells when an update is needed.
 */
export function buildServiceSpec(project: string, definition: ServiceDefinition, replicas: number): SwarmServiceSpec {
  if (definition.hostOptions || definition.containerOptions) {
    // Refused rather than dropped: a Swarm task would run with more privilege than the file asks.
    const keys = Object.keys({ ...definition.hostOptions, ...definition.containerOptions });
    throw usageError(`${definition.name}: ${keys.join(', ')} (from cap_add, ulimits, tmpfs, hostname…) are not applied to Swarm services by qscale`, 'use the compose backend (system.backend: compose) for this service');
  }
  const check = definition.healthcheck;
  const containerSpec: SwarmServiceSpec['TaskTemplate']['ContainerSpec'] = {
    Image: definition.image,
    Labels: { ...definition.labels, [STACK_LABEL.namespace]: project },
    Command: definition.entrypoint,
    Args: definition.command,
    Env: workerEnvironment(definition, stopGraceMs(definition)),
    Dir: definition.workingDir,
    User: definition.user,
    Init: definition.init,
    StopSignal: definition.stopSignal,
    StopGracePeriod: stopGraceMs(definition) * NS_PER_MS,
    HealthCheck: check && {
      Test: check.test,
      Interval: nanos(check.intervalMs),
      Timeout: nanos(check.timeoutMs),
      Retries: check.retries,
      StartPeriod: nanos(check.startPeriodMs),
    },
    Mounts: definition.binds.length > 0 ? definition.binds.map(bindMount) : undefined,
  };
  const limits = definition.nanoCpus === undefined && definition.memoryBytes === undefined ? undefined : { NanoCPUs: definition.nanoCpus, MemoryBytes: definition.memoryBytes };
  const taskTemplate: SwarmServiceSpec['TaskTemplate'] = {
    ContainerSpec: withoutUndefined(containerSpec),
    RestartPolicy: restartPolicy(definition.restart),
    Resources: limits && { Limits: withoutUndefined(limits) },
    Networks: networks(definition),
  };
  const spec: SwarmServiceSpec = {
    Name: stackServiceName(project, definition.name),
    Labels: { [STACK_LABEL.namespace]: project, [STACK_LABEL.image]: definition.image },
    TaskTemplate: withoutUndefined(taskTemplate),
    Mode: { Replicated: { Replicas: replicas } },
  };
  const hash = serviceSpecHash(spec);
  spec.Labels[LABEL.specHash] = hash;
  // On the tasks too, so convergence can tell tasks of the new spec from those still rolling over.
  spec.TaskTemplate.ContainerSpec.Labels[LABEL.specHash] = hash;
  return spec;
}

/** A stable hash of a spec without its replica count and without the hash labels themselves. */
export function serviceSpecHash(spec: SwarmServiceSpec): string {
  const { [LABEL.specHash]: _service, ...serviceLabels } = spec.Labels;
  const { [LABEL.specHash]: _task, ...taskLabels } = spec.TaskTemplate.ContainerSpec.Labels;
  const relevant = {
    Name: spec.Name,
    Labels: serviceLabels,
    TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Labels: taskLabels } },
  };
  return stableHash(relevant);
}

/** The same spec at another replica count. */
export function withReplicas(spec: SwarmServiceSpec, replicas: number): SwarmServiceSpec {
  return { ...spec, Mode: { Replicated: { Replicas: replicas } } };
}

function networks(definition: ServiceDefinition): Array<{ Target: string }> | undefined {
  const mode = definition.networkMode;
  // No network_mode, or the engine's bridge: a task's container joins the node's default bridge.
  if (mode === undefined || mode === 'bridge' || mode === 'default') return undefined;
  if (/^(container|service):/.test(mode)) {
    throw usageError(`${definition.name}: network_mode "${mode}" has no Swarm equivalent`, 'use network_mode: host, or a swarm-scoped (overlay) network');
  }
  // "host" and "none" are Swarm's predefined networks; any other name must be a swarm-scoped network.
  return [{ Target: mode }];
}

function restartPolicy(restart: string | undefined): SwarmServiceSpec['TaskTemplate']['RestartPolicy'] {
  // As `docker stack deploy` converts `restart:`; without one, Swarm's default (any) applies.
  if (restart === undefined) return undefined;
  if (restart === 'no') return { Condition: 'none' };
  if (restart === 'always' || restart === 'unless-stopped') return { Condition: 'any' };
  const [, attempts] = restart.split(':');
  return attempts ? { Condition: 'on-failure', MaxAttempts: Number(attempts) } : { Condition: 'on-failure' };
}

function bindMount(bind: string): { Type: 'bind'; Source: string; Target: string; ReadOnly?: boolean } {
  const [source, target, mode] = bind.split(':');
  return mode === 'ro' ? { Type: 'bind', Source: source, Target: target, ReadOnly: true } : { Type: 'bind', Source: source, Target: target };
}

function nanos(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms * NS_PER_MS;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

