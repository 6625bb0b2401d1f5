import type { Clock } from '../clock.js';
import { LABEL, projectFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import type { EventSink } from '../events.js';
import { collectContainers } from '../fleet/collect-ps.js';
import { downFleet, type DownOptions } from '../fleet/down.js';
import { upFleet, type UpOptions } from '../fleet/up.js';
import { followFleetLogs, type LogSink } from '../logs/follow-fleet-logs.js';
import type { ContainerEngine, ContainerUsage } from '../ports/container-engine.js';
import type { ContainerLogSource } from '../ports/container-logs.js';
import type { WorkerStateProbe } from '../ports/worker-state.js';
import type { LockOwner } from '../scale/service-lock.js';
import { liveContainers } from '../scale/plan.js';
import { scaleServices, type ScaleDependencies, type ScaleRequest } from '../scale/scale-service.js';
import type { BackendLogOptions, FleetBackend, ReplicaRow, ServiceReplicaCounts } from './fleet-backend.js';

export interface BackendDependencies {
  engine: ContainerEngine & ContainerLogSource;
  clock: Clock;
  onEvent: EventSink;
  signal?: AbortSignal;
  /** The second Ctrl-C: give up what is in flight and say what was left. */
  abandon?: AbortSignal;
  /** Asks the workers what they are doing: scale-in stops idle ones first; `ps` shows it. */
  workerStates?: WorkerStateProbe;
  /** This process, as the owner of a service's scaling lock. */
  lockOwner?: LockOwner;
}

/** The fleet as Compose runs it: containers on one engine, labelled as Compose labels its own. */
export class ComposeBackend implements FleetBackend {
  readonly kind = 'compose';

  constructor(
    readonly config: QscaleConfig,
    private readonly deps: BackendDependencies,
  ) {}

  private get scaleDeps(): ScaleDependencies {
    return { ...this.deps, logs: this.deps.engine };
  }

  scale(requests: ScaleRequest[], options: { dryRun?: boolean } = {}) {
    const { project, scaling } = this.config;
    return scaleServices(this.scaleDeps, requests, { project, maxWorkersPerQueue: scaling.maxWorkersPerQueue, dryRun: options.dryRun });
  }

  up(options: UpOptions = {}) {
    return upFleet(this.scaleDeps, this.config, options);
  }

  async down(options: DownOptions = {}): Promise<string[]> {
    const plans = await downFleet(this.scaleDeps, this.config, options);
    return plans.flatMap((plan) => plan.chains.map((chain) => chain.operations[0].containerName));
  }

  async replicas(services?: readonly string[]): Promise<ReplicaRow[]> {
    return collectContainers(this.deps.engine, this.config.project.name, this.deps.clock, services, this.deps.workerStates);
  }

  /** Running counts what scaling counts: started containers; created, never started ones do not count. */
  async replicaCounts(): Promise<Map<string, ServiceReplicaCounts>> {
    const containers = await this.deps.engine.listContainers(projectFilter(this.config.project.name));
    const live = new Set(liveContainers(containers));
    const counts = new Map<string, ServiceReplicaCounts>();
    for (const container of containers) {
      const service = container.labels[LABEL.service] ?? '';
      const entry = counts.get(service) ?? { running: 0, desired: 0, healthy: 0, unhealthy: 0 };
      entry.desired++;
      if (live.has(container)) entry.running++;
      if (container.health === 'healthy') entry.healthy++;
      if (container.health === 'unhealthy') entry.unhealthy++;
      counts.set(service, entry);
    }
    return counts;
  }

  async cpuPercents(service: string): Promise<number[]> {
    return (await this.resourceUsage(service)).map((sample) => sample.cpuPercent);
  }

  async resourceUsage(service: string): Promise<ContainerUsage[]> {
    const { engine } = this.deps;
    const running = (await engine.listContainers([...projectFilter(this.config.project.name), `${LABEL.service}=${service}`])).filter(
      (container) => container.state === 'running',
    );
    const samples = await Promise.all(running.map((container) => engine.containerStats(container.id)));
    return samples.filter((sample) => sample !== undefined);
  }

  followLogs(options: BackendLogOptions, onEvent: LogSink): Promise<void> {
    const signal = this.deps.signal ?? new AbortController().signal;
    return followFleetLogs({ source: this.deps.engine, clock: this.deps.clock, signal, onEvent }, { ...options, project: this.config.project.name });
  }
}
