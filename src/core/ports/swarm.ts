import type { ContainerLogStream, LogRequest } from './container-logs.js';

/**
 * What the Swarm backend needs from a Swarm manager. The Docker adapter implements it with
 * dockerode (services, tasks, nodes of the Engine API); unit tests use an in-memory fake. Specs
 * travel in the Engine API's own shape, so what a test compares is what the engine receives.
 */

/** The subset of the Engine API's ServiceSpec that qscale writes. */
export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: {
      Image: string;
      Labels: Record<string, string>;
      /** The image's entrypoint replaced (compose `entrypoint`). */
      Command?: string[];
      /** The arguments (compose `command`). */
      Args?: string[];
      Env?: string[];
      Dir?: string;
      User?: string;
      Init?: boolean;
      StopSignal?: string;
      /** Nanoseconds. */
      StopGracePeriod?: number;
      HealthCheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
      Mounts?: Array<{ Type: 'bind'; Source: string; Target: string; ReadOnly?: boolean }>;
    };
    RestartPolicy?: { Condition: 'none' | 'on-failure' | 'any'; MaxAttempts?: number };
    Resources?: { Limits?: { NanoCPUs?: number; MemoryBytes?: number } };
    Networks?: Array<{ Target: string }>;
  };
  Mode: { Replicated: { Replicas: number } };
}

export interface SwarmService {
  id: string;
  /** `Version.Index`: an update must name the version it was computed from. */
  version: number;
  spec: SwarmServiceSpec;
}

/** Swarm task states, from "new" to "running" and on to an end. */
export type SwarmTaskState =
  | 'new'
  | 'allocated'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'ready'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned';

export interface SwarmTask {
  id: string;
  serviceId: string;
  /** Unset until the scheduler placed it. */
  nodeId: string | null;
  /** Replicated services number their tasks 1..replicas; a replaced task keeps its slot. */
  slot: number | null;
  state: SwarmTaskState;
  desiredState: string;
  /** The engine's short status text ("started", "preparing"). */
  message: string;
  /** Why it failed ("task: non-zero exit (1)", "No such image: ..."); null when it did not. */
  error: string | null;
  containerId: string | null;
  exitCode: number | null;
  /** Milliseconds since the epoch of the last status change. */
  statusAt: number;
  image: string;
  /** The container labels of the task's spec (the spec hash among them). */
  labels: Record<string, string>;
}

export interface SwarmNode {
  id: string;
  hostname: string;
  /** "ready", "down", ... */
  state: string;
}

/** An update computed from a version that is no longer the service's current one. */
export class SwarmVersionConflictError extends Error {
  constructor(readonly service: string) {
    super(`update of service ${service} out of sequence`);
    this.name = 'SwarmVersionConflictError';
  }
}

/** A service's logs: Docker's multiplexed frames, each one message with its details (task id) in front. */
export interface ServiceLogRequest extends LogRequest {
  /** Prefix each message with its attributes (`com.docker.swarm.task.id=...`); the backend always asks for them. */
  details: boolean;
}

export interface SwarmApi {
  readonly endpoint: string;
  /** True when the engine is a manager of an active swarm (a worker node cannot list services). */
  isManager(): Promise<boolean>;
  /** The engine's own node in the swarm; undefined when it is in none. */
  localNodeId(): Promise<string | undefined>;
  /** Services carrying every one of the given `key=value` labels. */
  listServices(labelFilters: string[]): Promise<SwarmService[]>;
  /** By id or name; undefined when there is none. */
  inspectService(idOrName: string): Promise<SwarmService | undefined>;
  /** Creates a service and returns its id. */
  createService(spec: SwarmServiceSpec): Promise<string>;
  /** Replaces a service's spec; throws SwarmVersionConflictError when `version` is not current any more. */
  updateService(id: string, version: number, spec: SwarmServiceSpec): Promise<void>;
  /** Removes a service; an absent one is a success. */
  removeService(id: string): Promise<void>;
  /** The tasks of these services (ids or names), every state. */
  listTasks(serviceIds: string[]): Promise<SwarmTask[]>;
  listNodes(): Promise<SwarmNode[]>;
  /** A service's log stream; undefined when the service does not exist (any more). Aborting `signal` ends it. */
  openServiceLogs(id: string, request: ServiceLogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined>;
}
