import { LABEL } from '../../src/core/compose-labels.js';
import type { ContainerLogStream } from '../../src/core/ports/container-logs.js';
import {
  SwarmVersionConflictError,
  type ServiceLogRequest,
  type SwarmApi,
  type SwarmNode,
  type SwarmService,
  type SwarmServiceSpec,
  type SwarmTask,
} from '../../src/core/ports/swarm.js';

interface FakeTask extends SwarmTask {
  /** When the task reaches "running" (or fails), in clock time. */
  startsAt: number;
  /** When a task told to shut down has stopped. */
  stopsAt?: number;
  failWith?: string;
}

/**
 * An in-memory Swarm manager that behaves like one where the backend depends on it: updates name
 * the version they were computed from (a stale one throws SwarmVersionConflictError), the
 * orchestrator gives each slot 1..replicas a task, replaces every task when the spec changes, and
 * tasks take `startMs` (clock time) to run and `stopMs` to stop. Time is read from `now`, so a
 * test moves it with its fake clock. `calls` records every mutating call in order.
 */
export class FakeSwarm implements SwarmApi {
  readonly endpoint = 'fake://swarm';
  manager = true;
  localNode: string | undefined = 'node-1';
  readonly nodes: SwarmNode[] = [{ id: 'node-1', hostname: 'manager-1', state: 'ready' }];
  readonly services = new Map<string, SwarmService>();
  readonly tasks: FakeTask[] = [];
  readonly calls: string[] = [];
  /** Milliseconds a new task takes to run, and a stopping one to stop. */
  startMs = 0;
  stopMs = 0;
  /** The node a new task of a slot is placed on. */
  placeOn: (slot: number) => string = () => 'node-1';
  /** An error a new task of a slot fails with, instead of running. */
  failTask?: (slot: number) => string | undefined;
  /** Runs before an update is checked: lets a test update the service from another client in between. */
  beforeUpdate?: (id: string) => void;
  /** Raw log chunks per service id; a following stream then stays open until aborted. */
  readonly logChunks = new Map<string, Uint8Array[]>();
  readonly logRequests: Array<{ id: string; request: ServiceLogRequest }> = [];
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  async isManager() {
    return this.manager;
  }

  async localNodeId() {
    return this.localNode;
  }

  async listServices(labelFilters: string[]) {
    const wanted = labelFilters.map((filter) => filter.split('=') as [string, string]);
    return [...this.services.values()].filter((service) => wanted.every(([key, value]) => service.spec.Labels[key] === value)).map(clone);
  }

  async inspectService(idOrName: string) {
    const service = this.find(idOrName);
    return service && clone(service);
  }

  async createService(spec: SwarmServiceSpec) {
    if ([...this.services.values()].some((service) => service.spec.Name === spec.Name)) throw new SwarmVersionConflictError(spec.Name);
    const id = `svc${this.nextId++}`;
    this.calls.push(`create ${spec.Name} replicas ${spec.Mode.Replicated.Replicas}`);
    this.services.set(id, { id, version: 1, spec: clone(spec) });
    this.orchestrate(id, undefined);
    return id;
  }

  async updateService(id: string, version: number, spec: SwarmServiceSpec) {
    this.beforeUpdate?.(id);
    const service = this.services.get(id);
    if (!service) throw Object.assign(new Error('no such service'), { statusCode: 404 });
    if (version !== service.version) {
      this.calls.push(`update ${spec.Name} rejected (version ${version}, current ${service.version})`);
      throw new SwarmVersionConflictError(spec.Name);
    }
    this.calls.push(`update ${spec.Name} replicas ${spec.Mode.Replicated.Replicas}`);
    const previous = service.spec;
    service.spec = clone(spec);
    service.version++;
    this.orchestrate(id, previous);
  }

  /** Another client's update: bumps the version (as `docker service update --label-add` would). */
  touch(id: string) {
    const service = this.services.get(id)!;
    service.version++;
    this.calls.push(`touch ${service.spec.Name}`);
  }

  async removeService(id: string) {
    const service = this.services.get(id);
    if (!service) return;
    this.calls.push(`remove ${service.spec.Name}`);
    this.services.delete(id);
    for (let index = this.tasks.length - 1; index >= 0; index--) if (this.tasks[index].serviceId === id) this.tasks.splice(index, 1);
  }

  async listTasks(serviceIds: string[]) {
    const ids = new Set(serviceIds.map((idOrName) => this.find(idOrName)?.id));
    return this.tasks.filter((task) => ids.has(task.serviceId)).map((task) => this.view(task));
  }

  async listNodes() {
    return this.nodes.map((node) => ({ ...node }));
  }

  async openServiceLogs(id: string, request: ServiceLogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined> {
    if (!this.services.has(id)) return undefined;
    this.logRequests.push({ id, request });
    const chunks = this.logChunks.get(id) ?? [];
    async function* stream() {
      for (const chunk of chunks) yield chunk;
      if (request.follow && !signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    }
    return { tty: false, chunks: stream() };
  }

  /** Adds a service as if `docker stack deploy` (or another project) made it. */
  seed(spec: SwarmServiceSpec): string {
    const id = `svc${this.nextId++}`;
    this.services.set(id, { id, version: 1, spec: clone(spec) });
    this.orchestrate(id, undefined);
    return id;
  }

  /** Makes a running task fail now, as a crash would. */
  crash(taskId: string, error: string) {
    const task = this.tasks.find((candidate) => candidate.id === taskId)!;
    Object.assign(task, { failWith: error, startsAt: this.now() });
  }

  private find(idOrName: string): SwarmService | undefined {
    return this.services.get(idOrName) ?? [...this.services.values()].find((service) => service.spec.Name === idOrName);
  }

  /** What Swarm's orchestrator does after a change: one task per slot, new tasks on a new spec. */
  private orchestrate(id: string, previous: SwarmServiceSpec | undefined) {
    const service = this.services.get(id)!;
    const replicas = service.spec.Mode.Replicated.Replicas;
    const respec = previous !== undefined && JSON.stringify(previous.TaskTemplate) !== JSON.stringify(service.spec.TaskTemplate);
    const now = this.now();
    for (const task of this.tasks) {
      if (task.serviceId !== id || task.desiredState !== 'running') continue;
      if (respec || (task.slot ?? 0) > replicas) Object.assign(task, { desiredState: 'shutdown', stopsAt: now + this.stopMs });
    }
    for (let slot = 1; slot <= replicas; slot++) {
      if (this.tasks.some((task) => task.serviceId === id && task.slot === slot && task.desiredState === 'running')) continue;
      const taskId = `task${this.nextId++}`;
      this.tasks.push({
        id: taskId,
        serviceId: id,
        nodeId: this.placeOn(slot),
        slot,
        state: 'pending',
        desiredState: 'running',
        message: 'pending task scheduling',
        error: null,
        containerId: `ctr-${taskId}`,
        exitCode: null,
        statusAt: now,
        image: `${service.spec.TaskTemplate.ContainerSpec.Image}@sha256:abc123`,
        labels: { ...service.spec.TaskTemplate.ContainerSpec.Labels },
        startsAt: now + this.startMs,
        failWith: this.failTask?.(slot),
      });
    }
  }

  /** A task as of the clock's time. */
  private view(task: FakeTask): SwarmTask {
    const now = this.now();
    const { startsAt, stopsAt, failWith, ...base } = task;
    if (failWith && now >= startsAt) return { ...base, state: 'failed', desiredState: 'shutdown', message: 'task: non-zero exit (1)', error: failWith, exitCode: 1, statusAt: startsAt };
    if (stopsAt !== undefined && now >= stopsAt) return { ...base, state: 'shutdown', message: 'shutdown', statusAt: stopsAt };
    if (now < startsAt) return { ...base };
    return { ...base, state: 'running', message: 'started', statusAt: startsAt };
  }
}

export function specHashOf(service: SwarmService | undefined): string | undefined {
  return service?.spec.Labels[LABEL.specHash];
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
