import {
  NameConflictError,
  type ContainerDetails,
  type ContainerEngine,
  type ContainerSpec,
  type ContainerState,
  type NetworkSpec,
} from '../../src/core/ports/container-engine.js';
import type { ContainerEvent, ContainerLogSource } from '../../src/core/ports/container-logs.js';

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
  /** Runs before each create resolves: lets a test interleave another process's work. */
  beforeCreate?: (spec: ContainerSpec) => Promise<void> | void;
  failStartOf?: (name: string) => Error | undefined;
  /** CPU percent containerStats reports for a container (default 0). */
  cpuPercentOf?: (name: string) => number;
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
    await this.beforeCreate?.(spec);
    if ([...this.containers.values()].some((container) => container.name === spec.name)) throw new NameConflictError(spec.name);
    const id = `c${this.nextId++}`.padEnd(12, '0');
    this.calls.push(`create ${spec.name}`);
    this.containers.set(id, { id, name: spec.name, image: spec.image, labels: { ...spec.labels }, state: 'created', status: 'Created', createdAt: this.now(), restartCount: 0, spec });
    return id;
  }

  async startContainer(id: string) {
    const container = this.mustGet(id);
    const failure = this.failStartOf?.(container.name);
    if (failure) throw failure;
    this.calls.push(`start ${container.name}`);
    Object.assign(container, { state: 'running', status: 'Up Less than a second', startedAt: this.now() });
  }

  async stopContainer(id: string, timeoutSeconds: number) {
    const container = this.containers.get(id);
    if (!container || container.state !== 'running') return;
    this.calls.push(`stop ${container.name} ${timeoutSeconds}s`);
    Object.assign(container, { state: 'exited', status: 'Exited (0) Less than a second ago', exitCode: 0 });
  }

  async removeContainer(id: string, options: { force?: boolean } = {}) {
    const container = this.containers.get(id);
    if (!container) return;
    if (container.state === 'running' && !options.force) throw new Error(`cannot remove running container ${container.name}`);
    this.calls.push(`remove ${container.name}`);
    this.containers.delete(id);
  }

  async containerStats(id: string) {
    const container = this.containers.get(id);
    return container && { cpuPercent: container.state === 'running' ? (this.cpuPercentOf?.(container.name) ?? 0) : 0 };
  }

  /** Log streams are not modelled here (test/unit/logs has its own fake source): no container has logs. */
  async openLogs(): Promise<undefined> {
    return undefined;
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

  private mustGet(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw Object.assign(new Error(`no such container ${id}`), { statusCode: 404 });
    return container;
  }
}
