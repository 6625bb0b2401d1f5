import type { Clock } from '../clock.js';
import { stackFilter } from '../compose-labels.js';
import { DockerStreamDemuxer, type LogStreamName } from '../logs/demux-docker-stream.js';
import { DEFAULT_RELIST_MS, type FollowLogsOptions, type LogEvent, type LogSink } from '../logs/follow-fleet-logs.js';
import type { LogContainer } from '../logs/log-container.js';
import { LineSplitter } from '../logs/split-lines.js';
import type { SwarmApi, SwarmService, SwarmTask } from '../ports/swarm.js';
import { ServiceLogFrameReader } from './service-log-frames.js';

export interface FollowServiceLogsDependencies {
  swarm: SwarmApi;
  clock: Clock;
  signal: AbortSignal;
  onEvent: LogSink;
}

/** The compose service a stack service stands for: its name without the "<project>_" prefix. */
export function workerOf(project: string, service: SwarmService): string {
  const prefix = `${project}_`;
  return service.spec.Name.startsWith(prefix) ? service.spec.Name.slice(prefix.length) : service.spec.Name;
}

/** A task as log output names it: "<service>.<slot>", as `docker service logs` does. */
export function logContainerOfTask(project: string, worker: string, task: Pick<SwarmTask, 'id' | 'slot'>): LogContainer {
  const slot = task.slot ?? '?';
  return { id: task.id, name: `${worker}.${slot}`, containerName: `${project}_${worker}.${slot}.${task.id}`, service: worker, number: task.slot };
}

/**
 * Prints the logs of a stack's services: one service log stream each (the engine merges its
 * tasks, including tasks started later), split back into tasks by the details every message
 * carries. With follow, services created later are picked up by a periodic re-list.
 */
export async function followServiceLogs(deps: FollowServiceLogsDependencies, options: FollowLogsOptions): Promise<void> {
  const run = new AbortController();
  const stop = () => run.abort(deps.signal.reason);
  if (deps.signal.aborted) return;
  deps.signal.addEventListener('abort', stop, { once: true });
  const readers = new Map<string, Promise<void>>();
  const emit = async (event: LogEvent) => {
    const pending = deps.onEvent(event);
    if (pending) await pending;
  };

  const list = async () => {
    const services = await deps.swarm.listServices(stackFilter(options.project));
    return services
      .filter((service) => options.services.length === 0 || options.services.includes(workerOf(options.project, service)))
      .sort((a, b) => a.spec.Name.localeCompare(b.spec.Name));
  };
  const attach = (service: SwarmService, sinceSeconds: number | undefined) => {
    if (readers.has(service.id) || run.signal.aborted) return;
    const reader = readService(deps, options, service, sinceSeconds, run.signal, emit).catch(async (error) => {
      if (!run.signal.aborted) await emit({ type: 'warning', message: `lost the log stream of ${service.spec.Name}: ${error instanceof Error ? error.message : String(error)}` });
    });
    readers.set(service.id, reader);
  };

  try {
    const startedAt = deps.clock.now() / 1000;
    for (const service of await list()) attach(service, options.sinceSeconds);
    if (!options.follow) {
      await Promise.all(readers.values());
      return;
    }
    // A service that appears later is read from its start (it is new), not from `since`.
    while (!run.signal.aborted) {
      try {
        await deps.clock.sleep(options.relistEveryMs ?? DEFAULT_RELIST_MS, run.signal);
      } catch {
        break;
      }
      try {
        for (const service of await list()) attach(service, readers.size === 0 ? startedAt : undefined);
      } catch {
        // the next round tries again
      }
    }
  } finally {
    run.abort();
    deps.signal.removeEventListener('abort', stop);
    await Promise.allSettled(readers.values());
  }
}

async function readService(
  deps: FollowServiceLogsDependencies,
  options: FollowLogsOptions,
  service: SwarmService,
  sinceSeconds: number | undefined,
  signal: AbortSignal,
  emit: (event: LogEvent) => Promise<void>,
): Promise<void> {
  const worker = workerOf(options.project, service);
  const opened = await deps.swarm.openServiceLogs(
    service.id,
    { follow: options.follow, tail: options.tail, sinceSeconds, timestamps: options.timestamps, details: true },
    signal,
  );
  if (!opened) return;
  const tasks = new Map<string, LogContainer>();
  const splitters = new Map<string, LineSplitter>();
  const times = new Map<string, string>();
  const containerOf = async (taskId: string | undefined): Promise<LogContainer> => {
    const id = taskId ?? '';
    const known = tasks.get(id);
    if (known) return known;
    // A task not seen yet: learn the slots of the service's tasks (one call per new task at most).
    if (taskId) {
      for (const task of await deps.swarm.listTasks([service.id]).catch(() => [])) {
        if (!tasks.has(task.id)) tasks.set(task.id, logContainerOfTask(options.project, worker, task));
      }
    }
    const container = tasks.get(id) ?? logContainerOfTask(options.project, worker, { id: taskId ?? service.id, slot: null });
    tasks.set(id, container);
    return container;
  };
  const attached = new Set<string>();
  const emitLine = async (taskId: string | undefined, stream: LogStreamName, text: string) => {
    const container = await containerOf(taskId);
    if (!attached.has(container.id)) {
      attached.add(container.id);
      await emit({ type: 'attached', container });
    }
    const time = times.get(`${taskId}/${stream}`);
    await emit(time === undefined ? { type: 'line', container, stream, text } : { type: 'line', container, stream, text, time });
  };

  const demuxer = new DockerStreamDemuxer(opened.tty);
  const frames = new ServiceLogFrameReader(options.timestamps);
  const splitterOf = (key: string) => splitters.get(key) ?? splitters.set(key, new LineSplitter(options.maxLineBytes)).get(key)!;
  try {
    for await (const chunk of opened.chunks) {
      for (const piece of demuxer.push(chunk)) {
        for (const part of frames.push(piece)) {
          const key = `${part.taskId}/${part.stream}`;
          const splitter = splitterOf(key);
          // A stamp belongs to the line its message starts.
          if (part.time !== undefined && splitter.pendingBytes === 0) times.set(key, part.time);
          for (const text of splitter.push(part.data)) await emitLine(part.taskId, part.stream, text);
        }
      }
    }
  } finally {
    for (const [key, splitter] of splitters) {
      const [taskId, stream] = key.split('/') as [string, LogStreamName];
      for (const text of splitter.flush()) await emitLine(taskId === 'undefined' ? undefined : taskId, stream, text);
    }
    if (!signal.aborted) for (const container of tasks.values()) if (attached.has(container.id)) await emit({ type: 'detached', container });
  }
}
