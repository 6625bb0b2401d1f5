import type { BackendLogOptions, FleetBackend, ReplicaRow, ServiceReplicaCounts } from '../backend/fleet-backend.js';
import type { Clock } from '../clock.js';
import { LABEL, stackFilter, stackServiceName } from '../compose-labels.js';
import type { QscaleConfig, WorkerService } from '../config/qscale-config.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { EventSink } from '../events.js';
import type { DownOptions } from '../fleet/down.js';
import type { UpOptions } from '../fleet/up.js';
import type { LogSink } from '../logs/follow-fleet-logs.js';
import type { ContainerEngine, ContainerUsage } from '../ports/container-engine.js';
import { SwarmVersionConflictError, type SwarmApi, type SwarmService, type SwarmTask } from '../ports/swarm.js';
import { checkScaleRequest, type ScaleOutcome, type ScaleRequest } from '../scale/scale-service.js';
import { awaitConvergence, DEFAULT_CONVERGENCE, isFailedTask, type ConvergenceOptions } from './await-convergence.js';
import { followServiceLogs, workerOf } from './follow-service-logs.js';
import { describeServiceChange, planServiceChange, planServiceRemoval, replicasOf, type ServiceChange } from './plan-service-change.js';
import { buildServiceSpec } from './service-spec.js';

export interface SwarmBackendDependencies {
  swarm: SwarmApi;
  /** For the CPU use of tasks that run on this engine's node. */
  engine: Pick<ContainerEngine, 'containerStats'>;
  clock: Clock;
  onEvent: EventSink;
  signal?: AbortSignal;
}

export interface SwarmBackendOptions extends ConvergenceOptions {
  /** Tries of an update that another client keeps overtaking (out-of-sequence version). */
  maxUpdateAttempts: number;
}

export const DEFAULT_SWARM_OPTIONS: SwarmBackendOptions = { ...DEFAULT_CONVERGENCE, maxUpdateAttempts: 5 };

/** Wait before inspecting again after an out-of-sequence update, times the attempt. */
const CONFLICT_BACKOFF_MS = 100;

/**
 * The fleet as a Swarm stack: one replicated service per worker service (`<project>_<service>`,
 * labelled with the stack namespace so `docker stack ps <project>` sees it), scaled through its
 * replica count. Swarm's orchestrator starts and replaces the tasks; qscale waits until they run.
 */
export class SwarmBackend implements FleetBackend {
  readonly kind = 'swarm';
  private readonly options: SwarmBackendOptions;

  constructor(
    readonly config: QscaleConfig,
    private readonly deps: SwarmBackendDependencies,
    options: Partial<SwarmBackendOptions> = {},
  ) {
    this.options = { ...DEFAULT_SWARM_OPTIONS, ...options };
  }

  private get project(): string {
    return this.config.project.name;
  }

  async scale(requests: ScaleRequest[], options: { dryRun?: boolean } = {}): Promise<ScaleOutcome[]> {
    const max = this.config.scaling.maxWorkersPerQueue;
    for (const request of requests) checkScaleRequest(request, max);
    // Specs are built (and a network_mode Swarm lacks refused) before anything changes, too.
    const specs = requests.map((request) => buildServiceSpec(this.project, request.worker.definition, request.desired));
    if (requests.some((request) => request.stopTimeoutSeconds !== undefined)) {
      this.deps.onEvent({ type: 'notice', message: "--timeout does not apply on Swarm: tasks stop after their service's stop_grace_period" });
    }
    const settled = await Promise.allSettled(requests.map((request, index) => this.scaleOne(request.worker, specs[index], Boolean(options.dryRun))));
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<ScaleOutcome>).value);
  }

  /** Inspect, plan, update; again from a fresh inspect when another client updated the service in between. */
  private async scaleOne(worker: WorkerService, wanted: ReturnType<typeof buildServiceSpec>, dryRun: boolean): Promise<ScaleOutcome> {
    const { swarm, clock, onEvent, signal } = this.deps;
    let before: number | undefined;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal);
      const current = await swarm.inspectService(wanted.Name);
      const change = planServiceChange(worker.name, current, wanted);
      before ??= change.before;
      onEvent({ type: 'service-change', change });
      const operations = change.kind === 'none' ? [] : [{ kind: change.kind, target: change.service, cause: describeServiceChange(change) }];
      if (dryRun) return { service: worker.name, before, after: before, operations };
      // Failures from before this change are history, not ours to report.
      const failedBefore = new Set(current ? (await swarm.listTasks([current.id])).filter(isFailedTask).map((task) => task.id) : []);
      let serviceId: string;
      try {
        serviceId = change.kind === 'none' ? (current?.id ?? '') : await this.execute(change);
      } catch (error) {
        if (!(error instanceof SwarmVersionConflictError)) throw dockerFailure(change, error);
        if (attempt >= this.options.maxUpdateAttempts) {
          throw new QscaleError('DOCKER_FAILED', `${change.service}: other clients kept updating the service (${attempt} tries); try again`, { cause: error });
        }
        onEvent({ type: 'notice', service: worker.name, message: `${change.service} was updated meanwhile (version ${current?.version}); inspecting again` });
        await clock.sleep(CONFLICT_BACKOFF_MS * attempt, signal);
        continue;
      }
      if (serviceId) {
        await awaitConvergence(
          { swarm, clock, onEvent, signal },
          { serviceId, service: change.service, desired: change.after, specHash: wanted.Labels[LABEL.specHash], failedBefore },
          this.options,
        );
      }
      return { service: worker.name, before, after: change.after, operations };
    }
  }

  /** One Swarm call; the id of the service to watch, or '' when there is none. */
  private async execute(change: ServiceChange): Promise<string> {
    const { swarm } = this.deps;
    switch (change.kind) {
      case 'create':
        return swarm.createService(change.spec);
      case 'update':
        await swarm.updateService(change.id, change.version, change.spec);
        return change.id;
      case 'remove':
        await swarm.removeService(change.id);
        return '';
      case 'none':
        return '';
    }
  }

  async up(options: UpOptions = {}): Promise<ScaleOutcome[]> {
    const requests = await Promise.all(
      this.config.workers.map(async (worker): Promise<ScaleRequest> => {
        const current = await this.deps.swarm.inspectService(stackServiceName(this.project, worker.name));
        const kept = current ? replicasOf(current) : 0;
        const desired = options.reset || !current ? worker.initialReplicas : Math.min(Math.max(kept, worker.minReplicas), worker.maxReplicas);
        return { worker, desired, stopTimeoutSeconds: options.stopTimeoutSeconds };
      }),
    );
    return this.scale(requests, { dryRun: options.dryRun });
  }

  /** Removes the stack's services (those labelled with its namespace), nothing else. */
  async down(options: DownOptions = {}): Promise<string[]> {
    const services = await this.deps.swarm.listServices(stackFilter(this.project));
    const changes = services.map((service) => planServiceRemoval(workerOf(this.project, service), service));
    for (const change of changes) this.deps.onEvent({ type: 'service-change', change });
    if (!options.dryRun) await Promise.all(changes.map((change) => this.execute(change).catch((error) => Promise.reject(dockerFailure(change, error)))));
    return changes.map((change) => change.service);
  }

  async replicas(services?: readonly string[]): Promise<ReplicaRow[]> {
    const listed = await this.stackServices(services);
    if (listed.length === 0) return [];
    const [tasks, nodes] = await Promise.all([this.deps.swarm.listTasks(listed.map((service) => service.id)), this.deps.swarm.listNodes()]);
    const hostOf = new Map(nodes.map((node) => [node.id, node.hostname]));
    const byId = new Map(listed.map((service) => [service.id, service]));
    const now = this.deps.clock.now();
    return shownTasks(tasks)
      .flatMap((task): ReplicaRow[] => {
        const service = byId.get(task.serviceId);
        if (!service) return [];
        const running = task.state === 'running';
        return [
          {
            name: `${service.spec.Name}.${task.slot ?? task.id.slice(0, 12)}`,
            service: workerOf(this.project, service),
            number: task.slot,
            state: task.state,
            desiredState: task.desiredState,
            status: task.message,
            health: null,
            image: task.image.replace(/@sha256:[0-9a-f]+$/, ''),
            node: task.nodeId ? (hostOf.get(task.nodeId) ?? task.nodeId) : null,
            startedAt: running ? new Date(task.statusAt).toISOString() : null,
            uptimeMs: running ? Math.max(0, now - task.statusAt) : null,
            exitCode: running ? null : task.exitCode,
            error: task.error,
            createdBy: service.spec.Labels?.[LABEL.specHash] ? 'qscale' : 'stack',
          },
        ];
      })
      .sort((a, b) => a.service.localeCompare(b.service) || (a.number ?? 0) - (b.number ?? 0) || a.name.localeCompare(b.name));
  }

  async replicaCounts(): Promise<Map<string, ServiceReplicaCounts>> {
    const services = await this.stackServices();
    const counts = new Map<string, ServiceReplicaCounts>();
    if (services.length === 0) return counts;
    const tasks = await this.deps.swarm.listTasks(services.map((service) => service.id));
    for (const service of services) {
      const running = tasks.filter((task) => task.serviceId === service.id && task.state === 'running' && task.desiredState === 'running').length;
      // The task API carries no health; Swarm itself replaces unhealthy tasks.
      counts.set(workerOf(this.project, service), { running, desired: replicasOf(service), healthy: 0, unhealthy: 0 });
    }
    return counts;
  }

  /** Only tasks running on this engine's node can be measured; on a remote node there are none. */
  async cpuPercents(service: string): Promise<number[]> {
    return (await this.resourceUsage(service)).map((sample) => sample.cpuPercent);
  }

  /** As cpuPercents: tasks on this engine's node only. */
  async resourceUsage(service: string): Promise<ContainerUsage[]> {
    const { swarm, engine } = this.deps;
    const [current, localNode] = await Promise.all([swarm.inspectService(stackServiceName(this.project, service)), swarm.localNodeId()]);
    if (!current || !localNode) return [];
    const tasks = (await swarm.listTasks([current.id])).filter((task) => task.state === 'running' && task.nodeId === localNode && task.containerId);
    const samples = await Promise.all(tasks.map((task) => engine.containerStats(task.containerId!)));
    return samples.filter((sample) => sample !== undefined);
  }

  followLogs(options: BackendLogOptions, onEvent: LogSink): Promise<void> {
    const signal = this.deps.signal ?? new AbortController().signal;
    return followServiceLogs({ swarm: this.deps.swarm, clock: this.deps.clock, signal, onEvent }, { ...options, project: this.project });
  }

  private async stackServices(services?: readonly string[]): Promise<SwarmService[]> {
    const listed = await this.deps.swarm.listServices(stackFilter(this.project));
    return services?.length ? listed.filter((service) => services.includes(workerOf(this.project, service))) : listed;
  }
}

/**
 * The tasks `ps` shows: those meant to run, and per slot the latest that failed (why a slot is
 * not running), not the whole retained history.
 */
function shownTasks(tasks: SwarmTask[]): SwarmTask[] {
  const latestFailed = new Map<string, SwarmTask>();
  for (const task of tasks) {
    if (!isFailedTask(task)) continue;
    const key = `${task.serviceId}/${task.slot}`;
    const seen = latestFailed.get(key);
    if (!seen || seen.statusAt < task.statusAt) latestFailed.set(key, task);
  }
  const failedShown = new Set([...latestFailed.values()].map((task) => task.id));
  return tasks.filter((task) => task.desiredState !== 'shutdown' || failedShown.has(task.id));
}

function dockerFailure(change: ServiceChange, error: unknown): unknown {
  if (error instanceof QscaleError) return error;
  const message = (error as { json?: { message?: string } }).json?.message ?? (error instanceof Error ? error.message : String(error));
  return new QscaleError('DOCKER_FAILED', `${change.service}: ${change.kind} failed: ${message}`, { cause: error });
}
