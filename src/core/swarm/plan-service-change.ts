import { LABEL } from '../compose-labels.js';
import { QscaleError } from '../errors.js';
import type { SwarmService, SwarmServiceSpec } from '../ports/swarm.js';

/** One Swarm API call, with the reason it is made; `none` when the service is as wanted. */
export type ServiceChange =
  | { kind: 'create'; service: string; worker: string; before: 0; after: number; spec: SwarmServiceSpec; cause: string }
  | {
      kind: 'update';
      service: string;
      worker: string;
      before: number;
      after: number;
      id: string;
      version: number;
      spec: SwarmServiceSpec;
      /** Why the spec itself is replaced; undefined when only the count changes. */
      respec?: string;
      cause: string;
    }
  | { kind: 'remove'; service: string; worker: string; before: number; after: 0; id: string; cause: string }
  | { kind: 'none'; service: string; worker: string; before: number; after: number; cause: string };

/** What a replicated service is scaled to; 0 for a global one (which qscale refuses to scale). */
export function replicasOf(service: SwarmService): number {
  return service.spec.Mode?.Replicated?.Replicas ?? 0;
}

/**
 * The one call that brings a service to `wanted` (a spec at the desired count). Pure. A service
 * with the wanted spec hash only has its count changed, on its own current spec, so settings
 * made with `docker service update` (placement, update policy) stay; an outdated one gets our
 * spec over those same settings.
 */
export function planServiceChange(worker: string, current: SwarmService | undefined, wanted: SwarmServiceSpec): ServiceChange {
  const desired = wanted.Mode.Replicated.Replicas;
  const name = wanted.Name;
  if (!current) {
    if (desired === 0) return { kind: 'none', service: name, worker, before: 0, after: 0, cause: 'no service, none wanted' };
    return { kind: 'create', service: name, worker, before: 0, after: desired, spec: wanted, cause: `scale up 0 → ${desired}` };
  }
  if (!current.spec.Mode?.Replicated) {
    throw new QscaleError('USAGE', `${name} is not a replicated service, so it has no replica count to scale; nothing changed`, {
      hint: `remove it (docker service rm ${name}) and run qscale up`,
    });
  }
  const before = replicasOf(current);
  const base = { service: name, worker, before, after: desired, id: current.id, version: current.version };
  const outdated = current.spec.Labels?.[LABEL.specHash] !== wanted.Labels[LABEL.specHash];
  if (outdated) {
    const why = current.spec.Labels?.[LABEL.specHash] === undefined ? 'not made by qscale' : 'definition changed';
    return { kind: 'update', ...base, spec: mergeSpec(current.spec, wanted), respec: why, cause: before === desired ? why : `${scaleCause(before, desired)}; ${why}` };
  }
  if (before === desired) return { kind: 'none', service: name, worker, before, after: desired, cause: `already at ${desired}` };
  return {
    kind: 'update',
    ...base,
    spec: { ...current.spec, Mode: { Replicated: { Replicas: desired } } },
    cause: scaleCause(before, desired),
  };
}

function scaleCause(before: number, desired: number): string {
  return `scale ${before > desired ? 'down' : 'up'} ${before} → ${desired}`;
}

/** Removes a service: `qscale down`. */
export function planServiceRemoval(worker: string, current: SwarmService): ServiceChange {
  return { kind: 'remove', service: current.spec.Name, worker, before: replicasOf(current), after: 0, id: current.id, cause: 'down' };
}

/** Our spec over the current one: the fields qscale manages replaced, any others kept. */
function mergeSpec(current: SwarmServiceSpec, wanted: SwarmServiceSpec): SwarmServiceSpec {
  return {
    ...current,
    ...wanted,
    Labels: { ...current.Labels, ...wanted.Labels },
    TaskTemplate: {
      ...current.TaskTemplate,
      ContainerSpec: wanted.TaskTemplate.ContainerSpec,
      RestartPolicy: wanted.TaskTemplate.RestartPolicy,
      Resources: wanted.TaskTemplate.Resources,
      Networks: wanted.TaskTemplate.Networks,
    },
  };
}

/** The change as one line: what --dry-run prints and what planner tests compare. */
export function describeServiceChange(change: ServiceChange): string {
  switch (change.kind) {
    case 'create':
      return `create ${change.service} replicas 0 → ${change.after} (image ${change.spec.TaskTemplate.ContainerSpec.Image})`;
    case 'update':
      if (change.before === change.after) return `update ${change.service} spec (${change.respec}), replicas ${change.after}`;
      return `update ${change.service} replicas ${change.before} → ${change.after}${change.respec ? `, spec (${change.respec})` : ''}`;
    case 'remove':
      return `remove ${change.service}: ${change.cause}`;
    case 'none':
      return `${change.service}: already at ${change.after}`;
  }
}
