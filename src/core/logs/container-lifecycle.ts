import { LABEL, projectFilter } from '../compose-labels.js';
import type { ContainerEvent, ContainerLogSource } from '../ports/container-logs.js';
import { logContainerOf, type LogContainer } from './log-container.js';

export type LifecycleKind = 'created' | 'started' | 'died' | 'removed' | 'health';

/** A change in a fleet container's life that an operator wants to see. */
export interface LifecycleEvent {
  kind: LifecycleKind;
  container: LogContainer;
  /** Milliseconds since the epoch, as the engine stamped it. */
  time: number;
  /** For "died". */
  exitCode?: number;
  /** For "health": healthy, unhealthy or starting. */
  health?: string;
}

const KIND_OF_ACTION: Record<string, LifecycleKind> = { create: 'created', start: 'started', die: 'died', destroy: 'removed' };

/** The lifecycle meaning of an engine event; undefined for the rest (exec, attach, resize, kill, stop...). */
export function lifecycleEventOf(event: ContainerEvent): LifecycleEvent | undefined {
  const container = logContainerOf({ id: event.id, name: event.attributes.name ?? '', labels: event.attributes });
  const kind = KIND_OF_ACTION[event.action];
  if (kind === 'died') {
    const exitCode = Number.parseInt(event.attributes.exitCode ?? '', 10);
    return { kind, container, time: event.time, exitCode: Number.isInteger(exitCode) ? exitCode : undefined };
  }
  if (kind) return { kind, container, time: event.time };
  // API ≤ 1.41 puts the status in the action ("health_status: healthy"); newer engines may use an attribute.
  if (event.action === 'health_status' || event.action.startsWith('health_status:')) {
    const health = event.action.includes(':') ? event.action.slice(event.action.indexOf(':') + 1).trim() : event.attributes.health_status;
    return health ? { kind: 'health', container, time: event.time, health } : undefined;
  }
  return undefined;
}

export function inServices(labels: Record<string, string>, services: readonly string[]): boolean {
  return services.length === 0 || services.includes(labels[LABEL.service] ?? '');
}

export interface WatchLifecycleOptions {
  project: string;
  /** Only these compose services; empty means all. */
  services: readonly string[];
  sinceSeconds?: number;
}

/** Reports the project's lifecycle events until `signal` aborts. */
export async function watchLifecycle(
  source: Pick<ContainerLogSource, 'containerEvents'>,
  options: WatchLifecycleOptions,
  signal: AbortSignal,
  onEvent: (event: LifecycleEvent) => void | Promise<void>,
): Promise<void> {
  for await (const event of source.containerEvents(projectFilter(options.project), { sinceSeconds: options.sinceSeconds }, signal)) {
    if (signal.aborted) return;
    if (!inServices(event.attributes, options.services)) continue;
    const lifecycle = lifecycleEventOf(event);
    if (lifecycle) await onEvent(lifecycle);
  }
}
