import { COMPOSE_VERSION, defaultNetworkName, LABEL, serviceFilter } from '../compose-labels.js';
import type { WorkerService } from '../config/qscale-config.js';
import type { Clock } from '../clock.js';
import { interruptExitCode, QscaleError, throwIfAborted, type ErrorCode } from '../errors.js';
import type { EventSink } from '../events.js';
import { DockerStreamDemuxer } from '../logs/demux-docker-stream.js';
import { LineSplitter } from '../logs/split-lines.js';
import { drainTimeoutFor } from '../../../templates/worker/src/settings.js';
import type { ContainerEngine, ContainerSummary } from '../ports/container-engine.js';
import type { ContainerLogSource } from '../ports/container-logs.js';
import type { WorkerState, WorkerStateProbe } from '../ports/worker-state.js';
import { specHash, stopGraceMs, type ProjectIdentity } from './container-spec.js';
import { executePlan, type ExecutionResult, type LeftBehind } from './execute.js';
import { lockService, type LockOwner } from './service-lock.js';
import { isEmptyPlan, liveContainers, planScale, type Operation, type ScalePlan } from './plan.js';

export interface ScaleDependencies {
  engine: ContainerEngine;
  clock: Clock;
  onEvent: EventSink;
  /** The first Ctrl-C: finish or undo what was begun, then report. */
  signal?: AbortSignal;
  /** The second Ctrl-C: give up at once and say what was left. */
  abandon?: AbortSignal;
  /** Asks the workers what they are doing before a scale-in; without it the highest numbers go first. */
  workerStates?: WorkerStateProbe;
  /** Reads a dead container's last log lines before it is removed. */
  logs?: Pick<ContainerLogSource, 'openLogs'>;
  /** Who this process is, for the per-service lock (and whether another lock's owner still runs). */
  lockOwner?: LockOwner;
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
  /** Live containers afterwards (in a dry run: before). */
  after: number;
  /** The count asked for. */
  desired?: number;
  /** What was done (or, in a dry run, would be), one engine call each, on either backend. */
  operations: OperationRecord[];
  /** False when the run was interrupted or failed part-way; `notDone`, `left` and `error` then say how. */
  complete?: boolean;
  /** Planned calls that were never made. */
  notDone?: OperationRecord[];
  /** Containers left half-way by an abandoned run: "stopped, not removed", … */
  left?: Array<{ target: string; state: string }>;
  error?: string;
}

/**
 * A change that stopped part-way (interrupted, or the engine refused a call): the outcomes say
 * what changed and what did not, for every service, so the CLI can print them before it exits.
 */
export class IncompleteChangeError extends QscaleError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly outcomes: ScaleOutcome[],
    options: { cause?: unknown; signal?: AbortSignal } = {},
  ) {
    super(code, message, options);
    this.name = 'IncompleteChangeError';
    this.interruptedBy = options.signal;
  }

  private readonly interruptedBy?: AbortSignal;

  /** 130 or 143 when a signal interrupted the change (as the CLI exits), else the code's. */
  override get exitCode(): number {
    return this.interruptedBy?.aborted ? interruptExitCode(this.interruptedBy) : super.exitCode;
  }
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
/** How many of a dead container's last log lines are shown before it is removed. */
export const DEAD_LOG_LINES = 5;

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
  const [outcome] = await scaleServices(deps, [request], options);
  return outcome;
}

/**
 * Scales several services at once, all or nothing as far as can be known in advance: every count,
 * image and network is checked (and every plan made) before anything changes, in a dry run too.
 * A run that still stops part-way throws an IncompleteChangeError carrying every outcome.
 */
export async function scaleServices(deps: ScaleDependencies, requests: ScaleRequest[], options: ScaleOptions): Promise<ScaleOutcome[]> {
  for (const request of requests) checkScaleRequest(request, options.maxWorkersPerQueue);
  for (const request of requests) warnAboutDrainTimeout(deps, request.worker, effectiveStopTimeoutSeconds(request));
  const settled = await Promise.allSettled(requests.map((request) => prepareScale(deps, request, options)));
  const refused = settled.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => result.reason);
  if (refused.length > 0) {
    for (const other of refused.slice(1)) deps.onEvent({ type: 'notice', message: `also: ${other instanceof Error ? other.message : String(other)}` });
    throw refused[0];
  }
  const prepared = settled.map((result) => (result as PromiseFulfilledResult<PreparedScale>).value);
  if (options.dryRun) {
    return prepared.map(({ plan }) => {
      deps.onEvent({ type: 'plan', plan });
      return { service: plan.service, before: plan.current, after: plan.current, operations: plan.chains.flatMap((chain) => chain.operations.map(recordOf)) };
    });
  }
  throwIfAborted(deps.signal);
  // One run at a time per service; services in name order, so two scale-all runs cannot deadlock.
  const releases: Array<() => Promise<void>> = [];
  const owner = deps.lockOwner?.begin() ?? 'unknown';
  let outcomes: ScaleOutcome[];
  try {
    for (const [index, entry] of [...prepared.entries()].sort(([, a], [, b]) => a.plan.service.localeCompare(b.plan.service))) {
      if (isEmptyPlan(entry.plan)) continue;
      const { worker, stopTimeoutSeconds } = entry.request;
      const longestStopMs = Math.max(stopGraceMs(worker.definition), (stopTimeoutSeconds ?? 0) * 1000) * Math.min(worker.maxReplicas, options.maxWorkersPerQueue);
      const lock = await lockService(deps, { project: options.project.name, service: entry.plan.service, image: worker.definition.image, owner, longestStopMs });
      if (!lock) continue;
      releases.push(lock.release);
      // Another run changed the service meanwhile: what was observed before is history.
      if (lock.waited) prepared[index] = await prepareScale(deps, entry.request, options);
    }
    outcomes = await Promise.all(prepared.map((entry) => carryOut(deps, entry, options)));
  } finally {
    const released = Promise.all(releases.map((release) => release()));
    // Abandoned: the locks go as soon as the engine answers, without waiting for it here.
    if (!deps.abandon?.aborted) await released;
    deps.lockOwner?.end(owner);
  }
  const incomplete = outcomes.filter((outcome) => outcome.complete === false);
  if (incomplete.length > 0) {
    const interrupted = Boolean(deps.signal?.aborted);
    const failed = incomplete.find((outcome) => outcome.error);
    const message = interrupted ? 'interrupted' : (failed?.error ?? 'the change stopped part-way');
    throw new IncompleteChangeError(interrupted ? 'ABORTED' : 'DOCKER_FAILED', message, outcomes, { signal: interrupted ? deps.signal : undefined });
  }
  return outcomes;
}

interface PreparedScale {
  request: ScaleRequest;
  hash: string;
  stopTimeoutSeconds: number;
  workerStates?: ReadonlyMap<string, WorkerState>;
  plan: ScalePlan;
}

/** The stop timeout a scale-in gives each container: --timeout, else the service's stop_grace_period, else 10 s. */
function effectiveStopTimeoutSeconds(request: ScaleRequest): number {
  return request.stopTimeoutSeconds ?? Math.ceil(stopGraceMs(request.worker.definition) / 1000);
}

/** Observes one service and plans it; refuses (changing nothing) what cannot work: a missing image or network. */
async function prepareScale(deps: ScaleDependencies, request: ScaleRequest, options: ScaleOptions): Promise<PreparedScale> {
  const { worker, desired } = request;
  const definition = worker.definition;
  const hash = specHash(definition);
  const stopTimeoutSeconds = effectiveStopTimeoutSeconds(request);
  const observed = await deps.engine.listContainers(serviceFilter(options.project.name, worker.name));
  const workerStates = await askWorkerStates(deps, worker, observed, desired);
  const plan = planScale({ project: options.project, definition, hash, observed, desired, stopTimeoutSeconds, workerStates });
  if (plan.chains.some((chain) => chain.operations.some((operation) => operation.kind === 'create'))) await checkPrerequisites(deps, worker);
  return { request, hash, stopTimeoutSeconds, workerStates, plan };
}

/** Runs the prepared plan, then observes again until a plan comes out empty (or the run is interrupted or fails). */
async function carryOut(deps: ScaleDependencies, prepared: PreparedScale, options: ScaleOptions): Promise<ScaleOutcome> {
  const { worker, desired } = prepared.request;
  const before = prepared.plan.current;
  const done: Operation[] = [];
  const notDone: Operation[] = [];
  const left: LeftBehind[] = [];
  let plan = prepared.plan;
  let createdNetwork = false;
  const outcomeOf = async (error?: string, abandoned = false): Promise<ScaleOutcome> => {
    const complete = error === undefined && !deps.signal?.aborted;
    const after = complete ? desired : abandoned ? estimateAfter(before, done) : await observeLiveCount(deps, options, worker.name, before, done);
    return {
      service: worker.name,
      before,
      after,
      desired,
      operations: done.map(recordOf),
      ...(complete ? {} : { complete: false, notDone: notDone.map(recordOf), left: left.map(({ containerName, state }) => ({ target: containerName, state })), ...(error ? { error } : {}) }),
    };
  };

  try {
    for (let round = 0; ; round++) {
      deps.onEvent({ type: 'plan', plan });
      if (isEmptyPlan(plan)) return await outcomeOf();
      const creates = plan.chains.some((chain) => chain.operations.some((operation) => operation.kind === 'create'));
      if (creates && !createdNetwork) {
        await ensureNetwork(deps, options.project, worker);
        createdNetwork = true;
      }
      await showLastLogsOfDead(deps, plan, prepared.request);
      const result: ExecutionResult = await executePlan(deps.engine, plan, deps);
      done.push(...result.done);
      notDone.push(...result.skipped, ...result.failures.map((failure) => failure.operation));
      left.push(...result.left);
      if (result.abandoned) return await outcomeOf(undefined, true);
      if (result.interrupted) return await outcomeOf();
      if (result.failures.length > 0) {
        const [first] = result.failures;
        const more = result.failures.length > 1 ? ` (and ${result.failures.length - 1} more failures)` : '';
        return await outcomeOf(`${worker.name}: ${first.operation.kind} ${first.operation.containerName} failed: ${first.error.message}${more}`);
      }
      if (round === MAX_PLANNING_ROUNDS - 1) return await outcomeOf(`${worker.name}: other processes kept changing the same containers; try again`);
      // Observe again until a plan comes out empty: that confirms the count, and converges when
      // another process scaled the same service at the same moment.
      if (result.conflicts.length > 0) await deps.clock.sleep(CONFLICT_BACKOFF_MS * (round + 1), deps.signal);
      if (deps.signal?.aborted) return await outcomeOf();
      const observed = await deps.engine.listContainers(serviceFilter(options.project.name, worker.name));
      const scaledDown = result.done.some((operation) => operation.kind === 'stop');
      const expectedLive = estimateAfter(plan.current, result.done);
      const live = liveContainers(observed).length;
      plan = planScale({ project: options.project, definition: worker.definition, hash: prepared.hash, observed, desired, stopTimeoutSeconds: prepared.stopTimeoutSeconds, workerStates: prepared.workerStates });
      if (isEmptyPlan(plan)) return await outcomeOf();
      // Two processes asking for different counts would otherwise undo each other's work until
      // both give up at a count neither asked for. Scale-ups win: a run that removed containers
      // while another process added some stops here and says so; the other one's count stands.
      if (scaledDown && live > expectedLive) {
        return await outcomeOf(`${worker.name}: another process added containers while this run removed some (${live} running now); stopped so that its count stands`);
      }
    }
  } catch (error) {
    if (deps.signal?.aborted) return outcomeOf();
    return outcomeOf(`${worker.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function recordOf(operation: Operation): OperationRecord {
  return { kind: operation.kind, target: operation.containerName, cause: operation.cause };
}

/** Live containers after a change that stopped part-way: observed, else reckoned from what was done. */
async function observeLiveCount(deps: ScaleDependencies, options: ScaleOptions, service: string, before: number, done: Operation[]): Promise<number> {
  try {
    return liveContainers(await deps.engine.listContainers(serviceFilter(options.project.name, service))).length;
  } catch {
    return estimateAfter(before, done);
  }
}

function estimateAfter(before: number, done: Operation[]): number {
  return before + done.filter((operation) => operation.kind === 'start').length - done.filter((operation) => operation.kind === 'stop').length;
}

/** One question to the workers before a scale-in: which are idle. Unknown when nobody can be asked. */
async function askWorkerStates(deps: ScaleDependencies, worker: WorkerService, observed: ContainerSummary[], desired: number): Promise<ReadonlyMap<string, WorkerState> | undefined> {
  const live = liveContainers(observed);
  if (!deps.workerStates || live.length <= desired) return undefined;
  const snapshot = await deps.workerStates.probe(
    live.map((container) => container.id),
    deps.signal,
  );
  if (snapshot.problem) {
    deps.onEvent({ type: 'notice', service: worker.name, message: `worker states unknown (${snapshot.problem}); stopping the highest numbers first` });
  } else {
    const silent = live.filter((container) => !snapshot.states.has(container.id)).length;
    if (silent > 0) deps.onEvent({ type: 'notice', service: worker.name, message: `${silent} of ${live.length} workers did not report their state; they count as neither idle nor busy` });
  }
  return snapshot.states;
}

/**
 * The worker drains within DRAIN_TIMEOUT_MS, else within a deadline derived from the
 * QSCALE_STOP_TIMEOUT_MS it was created with (the stop grace); past the stop timeout the engine
 * SIGKILLs it first, before it hands its tasks back.
 */
function warnAboutDrainTimeout(deps: ScaleDependencies, worker: WorkerService, stopTimeoutSeconds: number): void {
  const text = worker.definition.environment.DRAIN_TIMEOUT_MS;
  const drainMs = text === undefined ? Number.NaN : Number(text);
  const stopMs = stopTimeoutSeconds * 1000;
  const warn = (message: string) => deps.onEvent({ type: 'notice', service: worker.name, message: `warning: ${message}` });
  if (Number.isFinite(drainMs)) {
    if (drainMs >= stopMs) warn(`DRAIN_TIMEOUT_MS (${drainMs} ms) is not below the stop timeout (${stopMs} ms): the engine may kill a worker still draining; lower it or raise stop_grace_period`);
    return;
  }
  // What the containers were given at create (whole seconds, as the engine takes it).
  const createdWithMs = Math.ceil(stopGraceMs(worker.definition) / 1000) * 1000;
  if (stopMs < createdWithMs) {
    warn(`--timeout ${stopTimeoutSeconds} is below the ${createdWithMs / 1000} s stop_grace_period its workers were created with (QSCALE_STOP_TIMEOUT_MS=${createdWithMs}): a worker draining for up to ${drainTimeoutFor(createdWithMs)} ms is killed at ${stopMs} ms before it hands its tasks back`);
  }
}

/** Shows the last log lines of each dead container the plan replaces: its logs go with it. */
async function showLastLogsOfDead(deps: ScaleDependencies, plan: ScalePlan, request: ScaleRequest): Promise<void> {
  const { logs } = deps;
  if (!logs) return;
  const replaced = plan.chains.flatMap((chain) => chain.operations).filter((operation) => operation.kind === 'remove' && /^replace (exited|dead) /.test(operation.cause));
  const tails = await Promise.all(replaced.map(async (operation) => (operation.kind === 'remove' ? { operation, lines: await lastLogLines(logs, operation.containerId, deps.signal) } : undefined)));
  for (const tail of tails) {
    if (!tail) continue;
    deps.onEvent({ type: 'dead-logs', service: request.worker.name, container: tail.operation.containerName, state: tail.operation.cause.replace(/^replace | container$/g, ''), lines: tail.lines });
  }
}

async function lastLogLines(logs: Pick<ContainerLogSource, 'openLogs'>, id: string, signal: AbortSignal | undefined): Promise<string[]> {
  const controller = new AbortController();
  const stopReading = () => controller.abort();
  signal?.addEventListener('abort', stopReading, { once: true });
  try {
    const stream = await logs.openLogs(id, { follow: false, tail: DEAD_LOG_LINES, timestamps: false }, controller.signal);
    if (!stream) return [];
    const demuxer = new DockerStreamDemuxer(stream.tty);
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const lines: string[] = [];
    for await (const chunk of stream.chunks) {
      for (const piece of demuxer.push(chunk)) lines.push(...splitters[piece.stream].push(piece.data));
    }
    lines.push(...splitters.stdout.flush(), ...splitters.stderr.flush());
    return lines.slice(-DEAD_LOG_LINES);
  } catch {
    return [];
  } finally {
    signal?.removeEventListener('abort', stopReading);
  }
}

/** Refuses, before anything changes, a service whose image is not on the engine or whose network does not exist. */
async function checkPrerequisites(deps: ScaleDependencies, worker: WorkerService): Promise<void> {
  const definition = worker.definition;
  if (!(await deps.engine.imageExists(definition.image))) {
    throw new QscaleError('IMAGE_MISSING', `image ${definition.image} for service ${worker.name} is not on this engine; nothing changed`, {
      hint: definition.hasBuild ? 'build it with `make build` (or `docker-compose build`)' : `build it with \`make build\` or pull it with \`docker pull ${definition.image}\``,
    });
  }
  const mode = definition.networkMode;
  if (mode !== undefined && !['host', 'bridge', 'none', 'default'].includes(mode) && !/^(container|service):/.test(mode)) {
    if (!(await deps.engine.networkExists(mode))) {
      throw new QscaleError('USAGE', `network_mode "${mode}" of service ${worker.name}: no network ${mode} on this engine; nothing changed`, {
        hint: `create it with \`docker network create ${mode}\``,
      });
    }
  }
}

async function ensureNetwork(deps: ScaleDependencies, project: ProjectIdentity, worker: WorkerService): Promise<void> {
  if (worker.definition.networkMode !== undefined) return;
  const network = defaultNetworkName(project.name);
  if (!(await deps.engine.networkExists(network))) {
    deps.onEvent({ type: 'notice', service: worker.name, message: `creating network ${network}` });
    await deps.engine.createNetwork({ name: network, labels: { [LABEL.project]: project.name, [LABEL.network]: 'default', [LABEL.version]: COMPOSE_VERSION } });
  }
}
