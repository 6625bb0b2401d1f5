import { encodeDockerFrame } from '../../src/core/logs/demux-docker-stream.js';
import { LOCK_LABEL } from '../../src/core/scale/service-lock.js';
import {
  ContainerGoneError,
  NameConflictError,
  type ContainerDetails,
  type ContainerEngine,
  type ContainerSpec,
  type ContainerState,
  type NetworkSpec,
} from '../../src/core/ports/container-engine.js';
import type { ContainerEvent, ContainerLogSource, ContainerLogStream, LogRequest } from '../../src/core/ports/container-logs.js';

interface FakeContainer extends ContainerDetails {
  spec?: ContainerSpec;
}

/**
 * An in-memory container engine that behaves like Docker where the core depends on it: names are
 * unique (409 → NameConflictError), label filters select, stopping a stopped container succeeds.
 * `calls` records every mutating call in order, for assertions.
 */
export class FakeEngine implements ContainerEngine, ContainerLogSource {
  readonly endpoint = 'fake://engine';
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, NetworkSpec>();
  readonly images = new Set<string>();
  readonly calls: string[] = [];
  /** Scaling locks taken and released (kept out of `calls`). */
  readonly lockCalls: string[] = [];
  /** Runs before each create (of a container, not a lock) resolves: lets a test interleave another process's work. */
  beforeCreate?: (spec: ContainerSpec) => Promise<void> | void;
  failStartOf?: (name: string) => Error | undefined;
  /** CPU percent containerStats reports for a container (default 0). */
  cpuPercentOf?: (name: string) => number;
  /** Runs after each mutating call is recorded ("create demo-w-1", …): lets a test interrupt mid-plan. */
  afterCall?: (call: string) => void;
  /** Holds a stop until the returned promise settles (the container stays running meanwhile). */
  stopGate?: (name: string) => Promise<void> | undefined;
  /** The log lines a container printed (stdout), for openLogs. */
  logLinesOf?: (name: string) => string[];
  private nextId = 1;

  constructor(
    private readonly now: () => number = () => Date.now(),
    images: string[] = [],
  ) {
    for (const image of images) this.images.add(image);
  }

  /** Adds a container as if another tool (Compose) made it. */
  seed(name: string, labels: Record<string, string>, state: ContainerState = 'running', extra: Partial<FakeContainer> = {}): string {
    const id = `c${this.nextId++}`.padEnd(12, '0');
    this.containers.set(id, {
      id,
      name,
      image: extra.image ?? 'img',
      labels,
      state,
      status: state === 'running' ? 'Up 1 second' : 'Exited (0) 1 second ago',
      createdAt: this.now(),
      restartCount: 0,
      ...extra,
    });
    return id;
  }

  async ping(): Promise<void> {}

  async listContainers(labelFilters: string[]) {
    const wanted = labelFilters.map((filter) => filter.split('=') as [string, string]);
    return [...this.containers.values()]
      .filter((container) => wanted.every(([key, value]) => container.labels[key] === value))
      .map(({ spec: _spec, startedAt: _s, finishedAt: _f, exitCode: _e, restartCount: _r, ...summary }) => ({ ...summary, labels: { ...summary.labels } }));
  }

  async inspectContainer(id: string) {
    const container = this.containers.get(id);
    return container && { ...container };
  }

  async imageExists(image: string) {
    return this.images.has(image);
  }

  async networkExists(name: string) {
    return this.networks.has(name);
  }

  async createNetwork(spec: NetworkSpec) {
    this.calls.push(`network-create ${spec.name}`);
    this.networks.set(spec.name, spec);
  }

  async removeNetwork(name: string) {
    this.calls.push(`network-remove ${name}`);
    this.networks.delete(name);
  }

  async createContainer(spec: ContainerSpec) {
    if (!spec.labels[LOCK_LABEL]) await this.beforeCreate?.(spec);
    if ([...this.containers.values()].some((container) => container.name === spec.name)) throw new NameConflictError(spec.name);
    const id = `c${this.nextId++}`.padEnd(12, '0');
    this.containers.set(id, { id, name: spec.name, image: spec.image, labels: { ...spec.labels }, state: 'created', status: 'Created', createdAt: this.now(), restartCount: 0, spec });
    if (spec.labels[LOCK_LABEL]) this.lockCalls.push(`lock ${spec.name}`);
    else this.record(`create ${spec.name}`);
    return id;
  }

  async startContainer(id: string) {
    const container = this.mustGet(id);
    const failure = this.failStartOf?.(container.name);
    if (failure) throw failure;
    if (container.state === 'running') return;
    Object.assign(container, { state: 'running', status: 'Up Less than a second', startedAt: this.now() });
    this.record(`start ${container.name}`);
  }

  async stopContainer(id: string, timeoutSeconds: number) {
    const container = this.containers.get(id);
    if (!container || container.state !== 'running') return;
    await this.stopGate?.(container.name);
    Object.assign(container, { state: 'exited', status: 'Exited (0) Less than a second ago', exitCode: 0 });
    this.record(`stop ${container.name} ${timeoutSeconds}s`);
  }

  async removeContainer(id: string, options: { force?: boolean } = {}) {
    const container = this.containers.get(id);
    if (!container) return;
    if (container.state === 'running' && !options.force) throw new Error(`cannot remove running container ${container.name}`);
    this.containers.delete(id);
    if (container.labels[LOCK_LABEL]) this.lockCalls.push(`unlock ${container.name}`);
    else this.record(`remove ${container.name}`);
  }

  async containerStats(id: string) {
    const container = this.containers.get(id);
    return container && { cpuPercent: container.state === 'running' ? (this.cpuPercentOf?.(container.name) ?? 0) : 0 };
  }

  /** Only a finished log is modelled (test/unit/logs has its own fake source for following): the `logLinesOf` lines. */
  async openLogs(id: string, request: LogRequest): Promise<ContainerLogStream | undefined> {
    const container = this.containers.get(id);
    if (!container) return undefined;
    const lines = this.logLinesOf?.(container.name) ?? [];
    const tail = request.tail === undefined ? lines : lines.slice(-request.tail);
    return {
      tty: false,
      chunks: (async function* () {
        for (const line of tail) yield encodeDockerFrame('stdout', `${line}\n`);
      })(),
    };
  }

  async *containerEvents(_filters: string[], _options: { sinceSeconds?: number }, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }

  names(state?: ContainerState): string[] {
    return [...this.containers.values()]
      .filter((container) => !state || container.state === state)
      .map((container) => container.name)
      .sort();
  }

  private record(call: string): void {
    this.calls.push(call);
    this.afterCall?.(call);
  }

  private mustGet(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new ContainerGoneError(id);
    return container;
  }
}
