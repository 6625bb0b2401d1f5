import { containerName, LABEL } from '../compose-labels.js';
import type { ServiceDefinition } from '../config/compose-file.js';
import type { ContainerSpec, ContainerSummary } from '../ports/container-engine.js';
import { describeWorkerState, type WorkerState } from '../ports/worker-state.js';
import { composeLabels, containerSpec, isOutdated, type ProjectIdentity } from './container-spec.js';

/** One Docker call, with the reason it is made. */
export type Operation =
  | { kind: 'create'; containerName: string; number: number; spec: ContainerSpec; cause: string }
  /** Starts the container the chain created, or `containerId` (one that was created and never started). */
  | { kind: 'start'; containerName: string; number: number; containerId?: string; cause: string }
  | { kind: 'stop'; containerName: string; number: number; containerId: string; timeoutSeconds: number; cause: string }
  | { kind: 'remove'; containerName: string; number: number; containerId: string; force: boolean; cause: string };

/** Operations on one container number; they run in order, chains run in parallel. */
export interface OperationChain {
  number: number;
  operations: Operation[];
}

export interface ScalePlan {
  service: string;
  desired: number;
  /** Live containers before the plan runs. */
  current: number;
  chains: OperationChain[];
}

export interface PlanScaleInput {
  project: ProjectIdentity;
  definition: ServiceDefinition;
  hash: string;
  observed: ContainerSummary[];
  desired: number;
  stopTimeoutSeconds: number;
  /**
   * What each worker said it is doing, by container id; undefined when nobody was asked (no
   * scale-in, or no broker to ask). A live container missing from the map did not answer.
   */
  workerStates?: ReadonlyMap<string, WorkerState>;
}

/**
 * - live: running (or restarting, paused): counts toward the replicas;
 * - unstarted: created and never started: does not count; started or removed by the next scale;
 * - broken: exited or dead: removed and replaced;
 * - going: being removed by someone.
 */
type Condition = 'live' | 'unstarted' | 'broken' | 'going';

interface Classified {
  container: ContainerSummary;
  number: number;
  condition: Condition;
  /** Lower goes first on scale-down. */
  removalRank: number;
  /** Tasks the worker holds; among equals, fewer goes first. Infinity when unknown. */
  held: number;
  why: string;
}

/** Scale-down order: broken state, outdated definition, idle or draining, unknown, busy. */
const RANK = { troubled: 0, outdated: 1, idle: 2, unknown: 3, busy: 4 } as const;

/**
 * Computes the Docker operations that bring a service to `desired` live containers. Pure: it
 * decides, the executor only carries out.
 *
 * - Exited and dead containers are removed and replaced.
 * - Created, never started containers do not count: a scale-up starts them (when they are of the
 *   current definition), anything else removes them.
 * - Scale-down removes unhealthy, then outdated containers, then idle workers (by their own
 *   report), then those holding the fewest tasks, then the highest numbers.
 * - Scale-up takes the lowest free numbers.
 */
export function planScale(input: PlanScaleInput): ScalePlan {
  const { project, definition, hash, desired } = input;
  const classified = input.observed.map((container) => classify(container, input));
  const live = classified.filter((entry) => entry.condition === 'live');
  const broken = classified.filter((entry) => entry.condition === 'broken');
  const unstarted = classified.filter((entry) => entry.condition === 'unstarted').sort((a, b) => a.number - b.number);
  const chains = new Map<number, Operation[]>();
  const chainOf = (number: number) => chains.get(number) ?? chains.set(number, []).get(number)!;
  const removeOf = (entry: Classified, cause: string): Operation => ({
    kind: 'remove',
    containerName: entry.container.name,
    number: entry.number,
    containerId: entry.container.id,
    force: true,
    cause,
  });

  for (const entry of broken) chainOf(entry.number).push(removeOf(entry, `replace ${entry.why} container`));

  const missing = Math.max(0, desired - live.length);
  const adoptable = unstarted.filter((entry) => !isOutdated(entry.container, hash, definition)).slice(0, missing);
  for (const entry of unstarted) {
    if (adoptable.includes(entry)) {
      chainOf(entry.number).push({
        kind: 'start',
        containerName: entry.container.name,
        number: entry.number,
        containerId: entry.container.id,
        cause: `scale up ${live.length} → ${desired} (created, never started)`,
      });
    } else {
      chainOf(entry.number).push(removeOf(entry, 'remove created, never started container'));
    }
  }

  if (live.length > desired) {
    const victims = [...live].sort((a, b) => a.removalRank - b.removalRank || a.held - b.held || b.number - a.number).slice(0, live.length - desired);
    for (const victim of victims) {
      const cause = `scale down ${live.length} → ${desired}${victim.why ? ` (${victim.why})` : ''}`;
      const base = { containerName: victim.container.name, number: victim.number, containerId: victim.container.id };
      chainOf(victim.number).push(
        { kind: 'stop', ...base, timeoutSeconds: input.stopTimeoutSeconds, cause },
        { kind: 'remove', ...base, force: false, cause },
      );
    }
  }

  const toCreate = missing - adoptable.length;
  if (toCreate > 0) {
    const taken = new Set(classified.filter((entry) => entry.condition !== 'broken').map((entry) => entry.number));
    const sibling = live.find((entry) => !isOutdated(entry.container, hash, definition))?.container;
    const cause = `scale up ${live.length} → ${desired}`;
    let number = 0;
    for (let created = 0; created < toCreate; created++) {
      do number++;
      while (taken.has(number));
      const name = containerName(project.name, definition.name, number);
      const labels = composeLabels(project, definition, number, hash, sibling);
      chainOf(number).push(
        { kind: 'create', containerName: name, number, spec: containerSpec(project, definition, number, labels), cause },
        { kind: 'start', containerName: name, number, cause },
      );
    }
  }

  return {
    service: definition.name,
    desired,
    current: live.length,
    chains: [...chains.entries()].sort(([a], [b]) => a - b).map(([number, operations]) => ({ number, operations })),
  };
}

function classify(container: ContainerSummary, input: PlanScaleInput): Classified {
  const parsed = Number.parseInt(container.labels[LABEL.containerNumber] ?? '', 10);
  const number = Number.isInteger(parsed) && parsed > 0 ? parsed : Number.MAX_SAFE_INTEGER;
  const base = { container, number, held: Number.POSITIVE_INFINITY };
  switch (container.state) {
    case 'removing':
      return { ...base, condition: 'going', removalRank: 0, why: 'removing' };
    case 'exited':
    case 'dead':
      return { ...base, condition: 'broken', removalRank: 0, why: container.state };
    case 'created':
      return { ...base, condition: 'unstarted', removalRank: 0, why: 'never started' };
    case 'restarting':
    case 'paused':
      return { ...base, condition: 'live', removalRank: RANK.troubled, why: `${container.state} first` };
    case 'running': {
      if (container.health === 'unhealthy') return { ...base, condition: 'live', removalRank: RANK.troubled, why: 'unhealthy first' };
      if (isOutdated(container, input.hash, input.definition)) return { ...base, condition: 'live', removalRank: RANK.outdated, why: 'outdated first' };
      if (!input.workerStates) return { ...base, condition: 'live', removalRank: RANK.unknown, why: '' };
      const state = input.workerStates.get(container.id);
      if (!state) return { ...base, condition: 'live', removalRank: RANK.unknown, why: 'state unknown' };
      const held = state.held;
      if (state.draining) return { ...base, held, condition: 'live', removalRank: RANK.idle, why: 'draining' };
      if (state.working === 0) return { ...base, held, condition: 'live', removalRank: RANK.idle, why: 'idle first' };
      return { ...base, held, condition: 'live', removalRank: RANK.busy, why: describeWorkerState(state) };
    }
  }
}

/** The containers that count toward a service's replicas: started and not stopped. Created, never started ones do not. */
export function liveContainers(observed: ContainerSummary[]): ContainerSummary[] {
  return observed.filter((container) => container.state === 'running' || container.state === 'restarting' || container.state === 'paused');
}

/** Stops and removes every given container: `qscale down`. */
export function planRemoval(service: string, containers: ContainerSummary[], stopTimeoutSeconds: number, cause: string): ScalePlan {
  const chains = containers.map((container, index) => {
    const parsed = Number.parseInt(container.labels[LABEL.containerNumber] ?? '', 10);
    const number = Number.isInteger(parsed) ? parsed : -index;
    const base = { containerName: container.name, number, containerId: container.id, cause };
    const stop: Operation[] = container.state === 'running' || container.state === 'restarting' || container.state === 'paused' ? [{ kind: 'stop', ...base, timeoutSeconds: stopTimeoutSeconds }] : [];
    return { number, operations: [...stop, { kind: 'remove' as const, ...base, force: stop.length === 0 }] };
  });
  return { service, desired: 0, current: containers.length, chains: chains.sort((a, b) => a.number - b.number) };
}

export function isEmptyPlan(plan: ScalePlan): boolean {
  return plan.chains.length === 0;
}

/** The plan as text, one operation a line: what --dry-run prints and what planner tests compare. */
export function describePlan(plan: ScalePlan): string {
  const lines = [`${plan.service}: ${plan.current} → ${plan.desired}`];
  if (isEmptyPlan(plan)) lines.push('  nothing to do');
  for (const chain of plan.chains) {
    for (const operation of chain.operations) {
      const detail = operation.kind === 'stop' ? ` (timeout ${operation.timeoutSeconds}s)` : operation.kind === 'create' ? ` (image ${operation.spec.image})` : '';
      lines.push(`  ${operation.kind.padEnd(6)} ${operation.containerName}${detail}: ${operation.cause}`);
    }
  }
  return lines.join('\n');
}
