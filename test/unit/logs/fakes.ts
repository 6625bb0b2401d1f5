import type { Clock } from '../../../src/core/clock.js';
import { LABEL } from '../../../src/core/compose-labels.js';
import type { ContainerState, ContainerSummary } from '../../../src/core/ports/container-engine.js';
import type { ContainerEvent, ContainerLogSource, ContainerLogStream, LogRequest } from '../../../src/core/ports/container-logs.js';

/** An async queue that ends when closed or when the reader's signal aborts. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake?: () => void;
  /** How many items readers have taken: shows whether a consumer is pulling. */
  taken = 0;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *read(signal: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        if (this.items.length > 0) {
          this.taken++;
          yield this.items.shift()!;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** A clock whose time moves only when the test says so. */
export class FakeClock implements Clock {
  private timers: Array<{ at: number; resolve: () => void }> = [];
  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.time + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((other) => other !== timer);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Moves time on and wakes every sleeper that is due. */
  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = this.timers.filter((timer) => timer.at <= this.time);
    this.timers = this.timers.filter((timer) => timer.at > this.time);
    for (const timer of due) timer.resolve();
    await settle();
  }

  get sleepers(): number {
    return this.timers.length;
  }
}

/** Lets every pending promise callback run; no time passes. */
export async function settle(rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface FakeContainer {
  summary: ContainerSummary;
  tty: boolean;
  /** Each openLogs gets the chunks written after it, like a follow stream. */
  backlog: Uint8Array[];
  streams: Array<{ queue: AsyncQueue<Uint8Array>; request: LogRequest; signal: AbortSignal }>;
}

/** An in-memory engine for log following: containers, their output, and an event feed. */
export class FakeLogSource implements ContainerLogSource {
  readonly containers = new Map<string, FakeContainer>();
  readonly subscriptions: Array<{ filters: string[]; sinceSeconds?: number; queue: AsyncQueue<ContainerEvent>; signal: AbortSignal }> = [];
  listCalls = 0;

  constructor(private readonly project: string) {}

  addContainer(service: string, number: number, options: { state?: ContainerState; tty?: boolean; project?: string; id?: string } = {}): string {
    const project = options.project ?? this.project;
    const id = options.id ?? `${service}-${number}-${this.containers.size}`.padEnd(64, '0');
    this.containers.set(id, {
      summary: {
        id,
        name: `${project}-${service}-${number}`,
        image: 'qscale/node-base:local',
        labels: { [LABEL.project]: project, [LABEL.service]: service, [LABEL.containerNumber]: String(number), [LABEL.oneoff]: 'False' },
        state: options.state ?? 'running',
        status: 'Up',
        createdAt: 0,
      },
      tty: options.tty ?? false,
      backlog: [],
      streams: [],
    });
    return id;
  }

  /** Output the container writes: kept for later readers and sent to open streams. */
  write(id: string, bytes: Uint8Array): void {
    const container = this.get(id);
    container.backlog.push(bytes);
    for (const stream of container.streams) stream.queue.push(bytes);
  }

  /** The container stops: its open streams end, as the engine ends them. */
  stop(id: string, state: ContainerState = 'exited'): void {
    const container = this.get(id);
    container.summary.state = state;
    for (const stream of container.streams) stream.queue.close();
  }

  forget(id: string): void {
    this.containers.delete(id);
  }

  event(action: string, id: string, extra: Record<string, string> = {}, time = 0): void {
    const container = this.containers.get(id);
    const attributes: Record<string, string> = { ...(container?.summary.labels ?? {}), name: container?.summary.name ?? '', ...extra };
    for (const subscription of this.subscriptions) {
      const matches = subscription.filters.every((filter) => {
        const [key, value] = filter.split('=');
        return attributes[key] === value;
      });
      if (matches) subscription.queue.push({ id, action, time, attributes });
    }
  }

  /** The engine's event stream breaks (a daemon restart): every subscription ends. */
  breakEvents(): void {
    for (const subscription of this.subscriptions) subscription.queue.close();
  }

  /** While set, the engine does not answer: every call fails as a stopped daemon's socket does. */
  down = false;

  /** The daemon stops: its streams end and nothing answers until `comeBack()`. */
  goDown(): void {
    this.down = true;
    this.breakEvents();
    for (const container of this.containers.values()) for (const stream of container.streams) stream.queue.close();
  }

  comeBack(): void {
    this.down = false;
  }

  private refuseWhenDown(): void {
    if (this.down) throw Object.assign(new Error('cannot reach the Docker engine at unix:///var/run/docker.sock (ECONNREFUSED)'), { code: 'DOCKER_UNREACHABLE' });
  }

  openStreams(id: string) {
    return this.get(id).streams;
  }

  async listContainers(labelFilters: string[]): Promise<ContainerSummary[]> {
    this.listCalls++;
    this.refuseWhenDown();
    return [...this.containers.values()]
      .map((container) => container.summary)
      .filter((summary) => labelFilters.every((filter) => {
        const [key, value] = filter.split('=');
        return summary.labels[key] === value;
      }))
      .map((summary) => ({ ...summary }));
  }

  async openLogs(id: string, request: LogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined> {
    this.refuseWhenDown();
    const container = this.containers.get(id);
    if (!container) return undefined;
    const queue = new AsyncQueue<Uint8Array>();
    const tail = request.tail === undefined ? container.backlog : container.backlog.slice(-request.tail);
    for (const chunk of tail) queue.push(chunk);
    if (!request.follow || container.summary.state !== 'running') queue.close();
    container.streams.push({ queue, request, signal });
    return { tty: container.tty, chunks: queue.read(signal) };
  }

  async *containerEvents(filters: string[], options: { sinceSeconds?: number }, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    this.refuseWhenDown();
    const queue = new AsyncQueue<ContainerEvent>();
    const subscription = { filters, sinceSeconds: options.sinceSeconds, queue, signal };
    this.subscriptions.push(subscription);
    try {
      yield* queue.read(signal);
    } finally {
      this.subscriptions.splice(this.subscriptions.indexOf(subscription), 1);
    }
  }

  private get(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new Error(`no fake container ${id}`);
    return container;
  }
}
