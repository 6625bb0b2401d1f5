import type { LogContainer } from './log-container.js';

/** A container whose state differs after an outage from before it; undefined state means absent. */
export interface ContainerChange {
  container: LogContainer;
  before?: string;
  after?: string;
}

/**
 * What a long-running reader of the engine (`logs -f`, `events`, `status --watch`) reports about
 * the engine itself: once when it goes away, once when it is back, never in between.
 */
export type EngineOutageEvent =
  | { type: 'engine-lost'; at: number; reason: string }
  | { type: 'engine-back'; at: number; gapMs: number; changes?: ContainerChange[] };

/**
 * One outage at a time: the first failure starts it (and is reported), later failures are the same
 * outage (and are not), the first success ends it with the gap's length.
 */
export class EngineOutage {
  private since?: number;

  get ongoing(): boolean {
    return this.since !== undefined;
  }

  /** A failed call at `at` (or a break noticed earlier, at `brokeAt`): the event to report when it starts an outage. */
  failed(at: number, error: unknown, brokeAt = at): EngineOutageEvent | undefined {
    if (this.since !== undefined) return undefined;
    this.since = Math.min(brokeAt, at);
    return { type: 'engine-lost', at: this.since, reason: reasonOf(error) };
  }

  /** A call that worked: the event to report when it ends an outage. */
  answered(at: number, changes?: ContainerChange[]): EngineOutageEvent | undefined {
    if (this.since === undefined) return undefined;
    const gapMs = Math.max(0, at - this.since);
    this.since = undefined;
    return changes === undefined ? { type: 'engine-back', at, gapMs } : { type: 'engine-back', at, gapMs, changes };
  }
}

/** The states containers had before and after, as changes; both maps keyed by container id. */
export function containerChanges(before: ReadonlyMap<string, { container: LogContainer; state: string }>, after: ReadonlyMap<string, { container: LogContainer; state: string }>): ContainerChange[] {
  const changes: ContainerChange[] = [];
  for (const [id, was] of before) {
    const now = after.get(id);
    if (!now) changes.push({ container: was.container, before: was.state });
    else if (now.state !== was.state) changes.push({ container: now.container, before: was.state, after: now.state });
  }
  for (const [id, now] of after) {
    if (!before.has(id)) changes.push({ container: now.container, after: now.state });
  }
  return changes.sort((a, b) => a.container.name.localeCompare(b.container.name, undefined, { numeric: true }));
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
