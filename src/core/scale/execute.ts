import type { Clock } from '../clock.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { EventSink } from '../events.js';
import { NameConflictError, type ContainerEngine } from '../ports/container-engine.js';
import type { Operation, ScalePlan } from './plan.js';

export interface ExecutionResult {
  /** Container numbers whose name another process took first: observe again and re-plan. */
  conflicts: number[];
  failures: Array<{ operation: Operation; error: Error }>;
}

/** Runs a plan: each chain in order, all chains at once. Makes no decisions of its own. */
export async function executePlan(engine: ContainerEngine, plan: ScalePlan, options: { onEvent: EventSink; clock: Clock; signal?: AbortSignal }): Promise<ExecutionResult> {
  const result: ExecutionResult = { conflicts: [], failures: [] };
  await Promise.all(
    plan.chains.map(async (chain) => {
      let createdId: string | undefined;
      for (const operation of chain.operations) {
        if (options.signal?.aborted) return;
        const startedAt = options.clock.now();
        options.onEvent({ type: 'operation-started', service: plan.service, operation, at: startedAt });
        try {
          createdId = await runOperation(engine, operation, createdId);
          const at = options.clock.now();
          options.onEvent({ type: 'operation-finished', service: plan.service, operation, at, elapsedMs: at - startedAt });
        } catch (error) {
          if (error instanceof NameConflictError) {
            result.conflicts.push(chain.number);
            options.onEvent({ type: 'notice', service: plan.service, message: `${operation.containerName} was taken by another process; re-planning` });
            return;
          }
          const failure = error instanceof Error ? error : new Error(String(error));
          result.failures.push({ operation, error: failure });
          options.onEvent({ type: 'operation-failed', service: plan.service, operation, at: options.clock.now(), error: failure.message });
          return;
        }
      }
    }),
  );
  throwIfAborted(options.signal);
  return result;
}

async function runOperation(engine: ContainerEngine, operation: Operation, createdId: string | undefined): Promise<string | undefined> {
  switch (operation.kind) {
    case 'create':
      return engine.createContainer(operation.spec);
    case 'start':
      if (!createdId) throw new QscaleError('DOCKER_FAILED', `${operation.containerName} was not created`);
      await engine.startContainer(createdId);
      return createdId;
    case 'stop':
      await engine.stopContainer(operation.containerId, operation.timeoutSeconds);
      return createdId;
    case 'remove':
      await engine.removeContainer(operation.containerId, { force: operation.force });
      return createdId;
  }
}
