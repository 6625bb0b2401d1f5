/**
 * What a worker says it is doing, asked over the broker (the worker answers `report-state` on the
 * control exchange). Scale-in uses it to stop idle workers first; `ps` shows it.
 */
export interface WorkerState {
  /** Tasks being worked on right now; 0 means idle. */
  working: number;
  /** Every task it holds unacked (prefetched, working, awaiting a confirm). */
  held: number;
  /** It received its stop signal and is draining. */
  draining: boolean;
}

/** The answers to one probe, by full container id; a container missing from `states` did not answer. */
export interface WorkerStateSnapshot {
  states: Map<string, WorkerState>;
  /** Why nothing (or not everything) could be asked, when that is so: "broker unreachable: …". */
  problem?: string;
}

export interface WorkerStateProbe {
  /**
   * Asks every worker once and returns what the given containers answered, waiting at most a short
   * while (a few hundred ms) or until each of them answered. Never throws: an unreachable broker
   * is a snapshot with no states and a `problem`.
   */
  probe(containerIds: readonly string[], signal?: AbortSignal): Promise<WorkerStateSnapshot>;
}

/** How a state reads in `ps` and in a scale-in's cause: "idle", "busy 2", "draining"; "?" when unknown. */
export function describeWorkerState(state: WorkerState | undefined): string {
  if (!state) return '?';
  if (state.draining) return 'draining';
  return state.working === 0 ? 'idle' : `busy ${state.working}`;
}
