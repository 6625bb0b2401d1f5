import { COMPOSE_VERSION, defaultNetworkName, LABEL, serviceFilter } from '../compose-labels.js';
import type { WorkerService } from '../config/qscale-config.js';
import type { Clock } from '../clock.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { EventSink } from '../events.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import { specHash, stopGraceMs, type ProjectIdentity } from './container-spec.js';
import { executePlan } from './execute.js';
import { isEmptyPlan, planScale, type ScalePlan } from './plan.js';

export interface ScaleDependencies {
  engine: ContainerEngine;
  clock: Clock;
  onEvent: EventSink;
  signal?: AbortSignal;
}

export interface ScaleRequest {
  worker: WorkerService;
  desired: number;
  /** Overrides the service's stop_grace_period. */
  stopTimeoutSeconds?: number;
}

export interface ScaleOptions {
  project: ProjectIdentity;
  maxWorkersPerQueue: number;
  dryRun?: boolean;
}

/** `system.scaling.enabled: false` freezes replica counts: scale and scale-all refuse. */
export function assertScalingEnabled(scaling: { enabled: boolean }, configFile: string): void {
  if (!scaling.enabled) {
    throw new QscaleError('USAGE', `scaling is disabled (${configFile}: system.scaling.enabled is false); nothing changed`);
  }
}

export interface ScaleOutcome {
  service: string;
  before: number;
  after: number;
  /** What was done (or, in a dry run, would be), one engine call each, on either backend. */
  operations: OperationRecord[];
}

/** One call a scale made: a container created, a Swarm service updated, … and why. */
export interface OperationRecord {
  kind: string;
  /** The container or service it acted on. */
  target: string;
  cause: string;
}

/** Plans carried out before giving up on a service that other processes keep changing. */
const MAX_PLANNING_ROUNDS = 10;
/** A name Docker reserved can show in listings a moment later; wait before observing again. */
const CONFLICT_BACKOFF_MS = 100;

/** Refuses counts outside the service's limits, or replicas a service cannot have; changes nothing. */
export function checkScaleRequest(request: ScaleRequest, maxWorkersPerQueue: number): void {
  const { worker, desired } = request;
  if (!Number.isInteger(desired) || desired < 0) {
    throw new QscaleError('USAGE', `replica count for ${worker.name} must be a whole number ≥ 0, got ${desired}`);
  }
  const max = Math.min(worker.maxReplicas, maxWorkersPerQueue);
  if (desired > max) {
    const which = worker.maxReplicas <= maxWorkersPerQueue ? `its max_replicas (${worker.maxReplicas})` : `system.scaling.max_workers_per_queue (${maxWorkersPerQueue})`;
    throw new QscaleError('LIMIT_EXCEEDED', `${worker.name}: ${desired} replicas exceeds ${which}; nothing changed`);
  }
  if (desired < worker.minReplicas) {
    throw new QscaleError('LIMIT_EXCEEDED', `${worker.name}: ${desired} replicas is below its min_replicas (${worker.minReplicas}); nothing changed`);
  }
  if (desired > 1) {
    const { containerName, ports } = worker.definition;
    if (containerName) {
      throw new QscaleError('USAGE', `${worker.name} sets container_name "${containerName}", so it cannot run ${desired} replicas; nothing changed`, {
        hint: 'remove container_name from the compose file to scale this service',
      });
    }
    const fixed = ports.find(publishesFixedHostPort);
    if (fixed) {
      throw new QscaleError('USAGE', `${worker.name} publishes the fixed host port "${fixed}", so it cannot run ${desired} replicas; nothing changed`, {
        hint: 'publish only the container port (e.g. "8080") or drop the port',
      });
    }
  }
}

function publishesFixedHostPort(port: string): boolean {
  if (port.startsWith('{')) return /"published"\s*:\s*"?\d/.test(port);
  const parts = port.split(':');
  if (parts.length < 2) return false;
  return parts[parts.length - 2] !== '';
}

/** Brings one service to exactly `desired` live containers: observe, plan, execute, again on a race. */
export async function scaleService(deps: ScaleDependencies, request: ScaleRequest, options: ScaleOptions): Promise<ScaleOutcome> {
  checkScaleRequest(request, options.maxWorkersPerQueue);
  const { worker, desired } = request;
  const definition = worker.definition;
  const hash = specHash(definition);
  const stopTimeoutSeconds = request.stopTimeoutSeconds ?? Math.ceil(stopGraceMs(definition) / 1000);
  const plans: ScalePlan[] = [];
  let before: number | undefined;
  let checkedPrerequisites = false;
  let converged = false;

  for (let round = 0; round < MAX_PLANNING_ROUNDS; round++) {
    throwIfAborted(deps.signal);
    const observed = await deps.engine.listContainers(serviceFilter(options.project.name, worker.name));
    const plan = planScale({ project: options.project, definition, hash, observed, desired, stopTimeoutSeconds, now: deps.clock.now() });
    before ??= plan.current;
    converged = isEmptyPlan(plan) || Boolean(options.dryRun);
    if (isEmptyPlan(plan) && round > 0) break;
    plans.push(plan);
    deps.onEvent({ type: 'plan', plan });
    if (converged) break;

    const creates = plan.chains.some((chain) => chain.operations.some((operation) => operation.kind === 'create'));
    if (creates && !checkedPrerequisites) {
      await ensurePrerequisites(deps, options.project, worker);
      checkedPrerequisites = true;
    }
    const result = await executePlan(deps.engine, plan, deps);
    if (result.failures.length > 0) {
      const [first] = result.failures;
      const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more failures)` : '';
      throw new QscaleError('DOCKER_FAILED', `${worker.name}: ${first.operation.kind} ${first.operation.containerName} failed: ${first.error.message}${more}`, {
        cause: first.error,
      });
    }
    // Observe again until a plan comes out empty: that confirms the count, and converges when
    // another process scaled the same service at the same moment.
    if (result.conflicts.length > 0) await deps.clock.sleep(CONFLICT_BACKOFF_MS * (round + 1), deps.signal);
    if (round === MAX_PLANNING_ROUNDS - 1) {
      throw new QscaleError('DOCKER_FAILED', `${worker.name}: other processes kept changing the same containers; try again`);
    }
  }
  const operations = plans.flatMap((plan) => plan.chains.flatMap((chain) => chain.operations.map(({ kind, containerName, cause }) => ({ kind, target: containerName, cause }))));
  return { service: worker.name, before: before ?? 0, after: options.dryRun ? (before ?? 0) : desired, operations };
}

async function ensurePrerequisites(deps: ScaleDependencies, project: ProjectIdentity, worker: WorkerService): Promise<void> {
  const definition = worker.definition;
  if (!(await deps.engine.imageExists(definition.image))) {
    throw new QscaleError('IMAGE_MISSING', `image ${definition.image} for service ${worker.name} is not on this engine`, {
      hint: definition.hasBuild ? 'build it with `make build` (or `docker-compose build`)' : `build it with \`make build\` or pull it with \`docker pull ${definition.image}\``,
    });
  }
  if (definition.networkMode === undefined) {
    const network = defaultNetworkName(project.name);
    if (!(await deps.engine.networkExists(network))) {
      deps.onEvent({ type: 'notice', service: worker.name, message: `creating network ${network}` });
      await deps.engine.createNetwork({ name: network, labels: { [LABEL.project]: project.name, [LABEL.network]: 'default', [LABEL.version]: COMPOSE_VERSION } });
    }
  }
}

/**
 * Scales several services at once. Every request is checked before anything changes, so one
 * count out of bounds changes nothing at all.
 */
export async function scaleServices(deps: ScaleDependencies, requests: ScaleRequest[], options: ScaleOptions): Promise<ScaleOutcome[]> {
  for (const request of requests) checkScaleRequest(request, options.maxWorkersPerQueue);
  const settled = await Promise.allSettled(requests.map((request) => scaleService(deps, request, options)));
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<ScaleOutcome>).value);
}
