import type { ContainerOptions, HostOptions } from '../config/host-options.js';

/**
 * What the core needs from a container engine. The Docker adapter implements it with dockerode;
 * unit tests use an in-memory fake. Already-done cases (stopping a stopped container, removing a
 * removed one) are successes, not errors.
 */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting';

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  /** Docker's human status text, e.g. "Up 3 minutes (healthy)" or "Exited (137) 2 seconds ago". */
  status: string;
  health?: ContainerHealth;
  /** Creation time, milliseconds since the epoch. */
  createdAt: number;
}

export interface ContainerDetails extends ContainerSummary {
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  restartCount: number;
}

export interface HealthcheckSpec {
  test: string[];
  intervalNs?: number;
  timeoutNs?: number;
  retries?: number;
  startPeriodNs?: number;
}

/** Everything a container is created from, in engine terms. */
export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  entrypoint?: string[];
  env: string[];
  labels: Record<string, string>;
  user?: string;
  workingDir?: string;
  stopSignal?: string;
  stopTimeoutSeconds?: number;
  healthcheck?: HealthcheckSpec;
  networkMode: string;
  init?: boolean;
  binds: string[];
  restartPolicy?: { name: string; maximumRetryCount?: number };
  nanoCpus?: number;
  memoryBytes?: number;
  /** The service's further HostConfig settings (cap_add, ulimits, tmpfs…), in the Engine API's names. */
  hostOptions?: HostOptions;
  /** The service's container settings (hostname, tty…), in the Engine API's names. */
  containerOptions?: ContainerOptions;
}

export interface NetworkSpec {
  name: string;
  labels: Record<string, string>;
}

export class NameConflictError extends Error {
  constructor(readonly containerName: string) {
    super(`container name ${containerName} is already in use`);
    this.name = 'NameConflictError';
  }
}

/** The container is gone: another process removed it between our listing and our call. */
export class ContainerGoneError extends Error {
  constructor(readonly containerId: string) {
    super(`container ${containerId} no longer exists`);
    this.name = 'ContainerGoneError';
  }
}

export interface ContainerEngine {
  /** A short description of where the engine is reached, for messages: "unix:///var/run/docker.sock". */
  readonly endpoint: string;
  /** Risks in how the engine is reached (plain TCP to another host), one line each, for stderr. */
  readonly connectionWarnings?: readonly string[];
  ping(): Promise<void>;
  /** All containers, running or not, that carry every one of the given `key=value` labels. */
  listContainers(labelFilters: string[]): Promise<ContainerSummary[]>;
  inspectContainer(id: string): Promise<ContainerDetails | undefined>;
  imageExists(image: string): Promise<boolean>;
  networkExists(name: string): Promise<boolean>;
  createNetwork(spec: NetworkSpec): Promise<void>;
  /** Removes a network; an absent one is a success. */
  removeNetwork(name: string): Promise<void>;
  /** Creates a container and returns its id; throws NameConflictError when the name is taken. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Starts a container; starting a running one is a success; throws ContainerGoneError when it does not exist. */
  startContainer(id: string): Promise<void>;
  /** Sends the container's stop signal, then SIGKILL after the timeout. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string, options?: { force?: boolean }): Promise<void>;
  /** CPU and memory use of a running container (ContainerUsage); undefined when it is gone. */
  containerStats(id: string): Promise<ContainerUsage | undefined>;
}

/** One container's resource use, as `docker stats` shows it. */
export interface ContainerUsage {
  /** CPU use in percent of one CPU (200 = two CPUs busy). */
  cpuPercent: number;
  /** Memory in use (less the reclaimable page cache) in percent of the container's limit (the host's memory without one); undefined when the engine tells no limit. */
  memoryPercent?: number;
}
