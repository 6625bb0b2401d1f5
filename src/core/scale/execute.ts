import type { Clock } from '../clock.js';
import { QscaleError } from '../errors.js';
import type { EventSink } from '../events.js';
import { ContainerGoneError, NameConflictError, type ContainerEngine } from '../ports/container-engine.js';
import type { Operation, ScalePlan } from './plan.js';

export interface ExecuteOptions {
  onEvent: EventSink;
  clock: Clock;
  /** The first Ctrl-C: begin nothing new; finish or undo each chain already begun. */
  signal?: AbortSignal;
  /** The second Ctrl-C: return at once, leaving what is in flight; nothing is reported after it. */
  abandon?: AbortSignal;
}

/** A container an abandoned run left half-way, and in which state. */
export interface LeftBehind {
  containerName: string;
  state: string;
}

export interface ExecutionResult {
  /** Container numbers another process took first (or removed under us): observe again and re-plan. */
  conflicts: number[];
  failures: Array<{ operation: Operation; error: Error }>;
  /** Operations carried out, including undo steps, by container number. */
  done: Operation[];
  /** Planned operations never begun: interrupted first, or an earlier step of their chain failed. */
  skipped: Operation[];
  left: LeftBehind[];
  interrupted: boolean;
  abandoned: boolean;
}

const ABANDONED = Symbol('abandoned');

/** What an operation still in flight leaves when the run is abandoned. */
const LEFT_IN_FLIGHT: Record<Operation['kind'], string> = {
  create: 'being created (if it was, it is created and never started)',
  start: 'being started',
  stop: 'stopping, not removed',
  remove: 'being removed',
};

/**
 * Runs a plan: each chain in order, all chains at once. Makes no decisions of its own, except the
 * fixed rule for an interrupt (the first abort signal): a chain not yet begun is skipped; a
 * container this run created and did not start yet is removed again (starting it would begin new
 * work after the user asked to stop, while an unstarted container has done nothing, so removing it
 * undoes the step); a container being stopped is stopped and then removed, as planned, so no
 * exited container is left behind. On `abandon` it returns at once and says what it left.
 */
export async function executePlan(engine: ContainerEngine, plan: ScalePlan, options: ExecuteOptions): Promise<ExecutionResult> {
  const result: ExecutionResult = { conflicts: [], failures: [], done: [], skipped: [], left: [], interrupted: false, abandoned: false };
  const interrupted = () => Boolean(options.signal?.aborted);
  const abandoned = () => Boolean(options.abandon?.aborted);
  // Nothing is reported once the run is abandoned: its report has been printed.
  const emit: EventSink = (event) => {
    if (!abandoned()) options.onEvent(event);
  };
  let onAbandon = () => {};
  const abandonedPromise = new Promise<typeof ABANDONED>((resolve) => {
    onAbandon = () => resolve(ABANDONED);
    if (options.abandon?.aborted) resolve(ABANDONED);
    options.abandon?.addEventListener('abort', onAbandon, { once: true });
  });

  /** Runs one operation; false when the chain must end here (failed, conflict, or abandoned mid-way). */
  const run = async (chainNumber: number, operation: Operation, createdId: string | undefined): Promise<{ ok: boolean; createdId?: string }> => {
    const startedAt = options.clock.now();
    emit({ type: 'operation-started', service: plan.service, operation, at: startedAt });
    const pending = runOperation(engine, operation, createdId);
    pending.catch(() => {});
    try {
      const outcome = await Promise.race([pending, abandonedPromise]);
      if (outcome === ABANDONED) {
        result.left.push({ containerName: operation.containerName, state: LEFT_IN_FLIGHT[operation.kind] });
        return { ok: false };
      }
      result.done.push(operation);
      const at = options.clock.now();
      emit({ type: 'operation-finished', service: plan.service, operation, at, elapsedMs: at - startedAt });
      return { ok: true, createdId: outcome };
    } catch (error) {
      if (error instanceof NameConflictError || error instanceof ContainerGoneError) {
        result.conflicts.push(chainNumber);
        const what = error instanceof NameConflictError ? 'was taken by another process' : 'was removed by another process';
        emit({ type: 'notice', service: plan.service, message: `${operation.containerName} ${what}; re-planning` });
        return { ok: false };
      }
      const failure = error instanceof Error ? error : new Error(String(error));
      result.failures.push({ operation, error: failure });
      emit({ type: 'operation-failed', service: plan.service, operation, at: options.clock.now(), error: failure.message });
      return { ok: false };
    }
  };

  const runChain = async (chain: ScalePlan['chains'][number]) => {
    const operations = chain.operations;
    let createdId: string | undefined;
    for (let index = 0; index < operations.length; index++) {
      let operation = operations[index];
      const previous = operations[index - 1];
      if (abandoned()) {
        if (previous?.kind === 'create' && createdId) result.left.push({ containerName: previous.containerName, state: 'created, never started' });
        if (previous?.kind === 'stop') result.left.push({ containerName: previous.containerName, state: 'stopped, not removed' });
        result.skipped.push(...operations.slice(index));
        return;
      }
      if (interrupted()) {
        const finishesStop = previous?.kind === 'stop' && operation.kind === 'remove';
        const undoesCreate = previous?.kind === 'create' && createdId !== undefined;
        if (!finishesStop && !undoesCreate) {
          result.skipped.push(...operations.slice(index));
          return;
        }
        if (undoesCreate) {
          result.skipped.push(...operations.slice(index));
          operation = { kind: 'remove', containerName: previous.containerName, number: chain.number, containerId: createdId!, force: true, cause: 'interrupted before its start: undo the create' };
          await run(chain.number, operation, createdId);
          return;
        }
      }
      const step = await run(chain.number, operation, createdId);
      if (!step.ok) {
        result.skipped.push(...operations.slice(index + 1));
        // A container this run created and could not start is removed again: it would never run.
        if (operation.kind === 'start' && previous?.kind === 'create' && createdId && !abandoned() && result.failures.some((failure) => failure.operation === operation)) {
          await run(chain.number, { kind: 'remove', containerName: operation.containerName, number: chain.number, containerId: createdId, force: true, cause: 'its start failed: undo the create' }, createdId);
        }
        return;
      }
      createdId = step.createdId;
    }
  };

  try {
    await Promise.all(plan.chains.map(runChain));
  } finally {
    // The autoscaler passes the same signal to every scale: a listener per run would pile up.
    options.abandon?.removeEventListener('abort', onAbandon);
  }
  // In plan order (by container number, each chain in its order), not in the order calls finished.
  result.done.sort((a, b) => a.number - b.number);
  result.interrupted = interrupted();
  result.abandoned = abandoned();
  return result;
}

async function runOperation(engine: ContainerEngine, operation: Operation, createdId: string | undefined): Promise<string | undefined> {
  switch (operation.kind) {
    case 'create':
      return engine.createContainer(operation.spec);
    case 'start': {
      const id = operation.containerId ?? createdId;
      if (!id) throw new QscaleError('DOCKER_FAILED', `${operation.containerName} was not created`);
      await engine.startContainer(id);
      return id;
    }
    case 'stop':
      await engine.stopContainer(operation.containerId, operation.timeoutSeconds);
      return createdId;
    case 'remove':
      await engine.removeContainer(operation.containerId, { force: operation.force });
      return createdId;
  }
}
