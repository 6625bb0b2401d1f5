import type { QscaleConfig } from '../config/qscale-config.js';
import type { ContainerHealth, ContainerUsage } from '../ports/container-engine.js';
import type { FollowLogsOptions, LogSink } from '../logs/follow-fleet-logs.js';
import type { ScaleOutcome, ScaleRequest } from '../scale/scale-service.js';
import type { UpOptions } from '../fleet/up.js';
import type { DownOptions } from '../fleet/down.js';

export type BackendKind = 'compose' | 'swarm';

/** One replica of a service: a container under Compose, a task under Swarm. */
export interface ReplicaRow {
  name: string;
  service: string;
  /** Compose's container number, Swarm's task slot. */
  number: number | null;
  state: string;
  /** Swarm's desired state of the task ("running", "shutdown"); null under Compose. */
  desiredState: string | null;
  status: string;
  health: ContainerHealth | null;
  image: string;
  /** Where it runs: the Swarm node's hostname; null under Compose (this engine). */
  node: string | null;
  startedAt: string | null;
  uptimeMs: number | null;
  exitCode: number | null;
  /** Why a Swarm task failed; null otherwise. */
  error: string | null;
  createdBy: 'qscale' | 'compose' | 'stack';
  /**
   * What the worker says it is doing: "idle", "busy 2", "draining", "?" (no answer); null when not
   * running or not asked (Swarm: task ids are not the container ids workers report on other nodes).
   */
  work?: string | null;
}

export interface ServiceReplicaCounts {
  /** Replicas that count now: running, or being started at this moment. */
  running: number;
  /** What the service is scaled to. */
  desired: number;
  healthy: number;
  unhealthy: number;
}

export type BackendLogOptions = Omit<FollowLogsOptions, 'project'>;

/**
 * Everything the commands need from the platform that runs the fleet. Commands and the load test
 * and autoscaler talk to this; only the backends know whether containers or Swarm services run.
 */
export interface FleetBackend {
  readonly kind: BackendKind;
  readonly config: QscaleConfig;
  /** Brings services to exact counts; every request is checked before anything changes. */
  scale(requests: ScaleRequest[], options?: { dryRun?: boolean }): Promise<ScaleOutcome[]>;
  /** Starts every worker service at its initial replicas; hand-scaled services keep their count. */
  up(options?: UpOptions): Promise<ScaleOutcome[]>;
  /** Removes the whole fleet; returns the names of what was removed. */
  down(options?: DownOptions): Promise<string[]>;
  /** One row per replica, ordered by service and number. */
  replicas(services?: readonly string[]): Promise<ReplicaRow[]>;
  /** Running and desired replicas per service of the project. */
  replicaCounts(): Promise<Map<string, ServiceReplicaCounts>>;
  /** CPU use of each running replica of a service, in percent of one core. */
  cpuPercents(service: string): Promise<number[]>;
  /** CPU and memory use of each running replica of a service (one stats call each). */
  resourceUsage(service: string): Promise<ContainerUsage[]>;
  /** Prints logs, once or following replicas that start later, until the signal aborts. */
  followLogs(options: BackendLogOptions, onEvent: LogSink): Promise<void>;
}
