import type { Clock } from '../clock.js';
import { LABEL, projectFilter } from '../compose-labels.js';
import type { ContainerSummary } from '../ports/container-engine.js';
import type { ContainerEvent, ContainerLogSource } from '../ports/container-logs.js';
import { containerChanges, EngineOutage, type EngineOutageEvent } from './engine-outage.js';
import { logContainerOf, type LogContainer } from './log-container.js';
import { sinceAfter } from './since-after.js';

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

/** What `qscale events` reports: lifecycle events, and the engine going away and coming back. */
export type LifecycleFeedEvent = { type: 'lifecycle'; event: LifecycleEvent } | EngineOutageEvent;

export interface FollowLifecycleDependencies {
  source: Pick<ContainerLogSource, 'containerEvents' | 'listContainers'>;
  clock: Clock;
  signal: AbortSignal;
  /** How often to ask again while the engine does not answer. */
  retryEveryMs?: number;
}

type KnownStates = Map<string, { container: LogContainer; state: string }>;

/**
 * Reports the project's lifecycle events until `signal` aborts, riding out engine restarts: when
 * the event stream breaks and the engine stops answering, one `engine-lost`; when it answers
 * again, one `engine-back` with the gap's length and the containers whose state changed
 * meanwhile (their events died with the old engine); then it subscribes again.
 */
export async function followLifecycle(
  deps: FollowLifecycleDependencies,
  options: WatchLifecycleOptions,
  onEvent: (event: LifecycleFeedEvent) => void | Promise<void>,
): Promise<void> {
  const { source, clock, signal } = deps;
  const retryEveryMs = deps.retryEveryMs ?? 1000;
  const filter = projectFilter(options.project);
  const list = async (): Promise<KnownStates> => statesOf((await source.listContainers(filter)).filter((container) => inServices(container.labels, options.services)));
  // What the fleet looked like, kept current from the events: the baseline for what changed in a gap.
  let known = await list();
  let sinceSeconds = options.sinceSeconds;
  const outage = new EngineOutage();
  while (!signal.aborted) {
    let failure: unknown = new Error('the engine closed its event stream');
    try {
      for await (const event of source.containerEvents(filter, { sinceSeconds }, signal)) {
        if (signal.aborted) return;
        sinceSeconds = sinceAfter(event);
        if (!inServices(event.attributes, options.services)) continue;
        const lifecycle = lifecycleEventOf(event);
        if (!lifecycle) continue;
        track(known, lifecycle, event);
        await onEvent({ type: 'lifecycle', event: lifecycle });
      }
    } catch (error) {
      failure = error;
    }
    if (signal.aborted) return;
    const brokeAt = clock.now();
    // Nothing between the break and the next subscription is missed (unless the engine itself went).
    sinceSeconds ??= brokeAt / 1000;
    // The stream broke: is the engine gone, or did it only close the stream? Ask until it answers.
    let recovered = false;
    for (;;) {
      const askedAt = clock.now();
      try {
        const now = await list();
        const back = outage.answered(clock.now(), containerChanges(known, now));
        known = now;
        if (back) {
          // The old engine's events are gone: the gap's changes come from the listing, events resume after it.
          recovered = true;
          sinceSeconds = askedAt / 1000;
          await onEvent(back);
        }
        break;
      } catch (error) {
        if (signal.aborted) return;
        const lost = outage.failed(clock.now(), error ?? failure, brokeAt);
        if (lost) await onEvent(lost);
      }
      if (!(await pause(clock, retryEveryMs, signal))) return;
    }
    // A stream the engine closed while answering is opened again, but not in a hot loop.
    if (!recovered && !(await pause(clock, retryEveryMs, signal))) return;
  }
}

function statesOf(containers: ContainerSummary[]): KnownStates {
  return new Map(containers.map((summary) => [summary.id, { container: logContainerOf(summary), state: summary.state }]));
}

const STATE_AFTER: Partial<Record<LifecycleKind, string>> = { created: 'created', started: 'running', died: 'exited' };

function track(known: KnownStates, lifecycle: LifecycleEvent, event: ContainerEvent): void {
  if (lifecycle.kind === 'removed') known.delete(event.id);
  const state = STATE_AFTER[lifecycle.kind];
  if (state) known.set(event.id, { container: lifecycle.container, state });
}

/** Waits on the clock; false when the signal aborted meanwhile. */
async function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await clock.sleep(ms, signal);
  } catch {
    return false;
  }
  return !signal.aborted;
}
