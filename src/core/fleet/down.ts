import { defaultNetworkName, LABEL, projectFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import { DEFAULT_STOP_GRACE_MS, stopGraceMs } from '../scale/container-spec.js';
import { executePlan } from '../scale/execute.js';
import { isEmptyPlan, planRemoval, type ScalePlan } from '../scale/plan.js';
import { IncompleteChangeError, type ScaleDependencies, type ScaleOutcome } from '../scale/scale-service.js';

export interface DownOptions {
  dryRun?: boolean;
  stopTimeoutSeconds?: number;
}

/**
 * Stops and removes every container of the project, whoever created it, then its default network.
 * Interrupted, it lets the stops already begun finish and removes those containers, begins nothing
 * else, and throws an IncompleteChangeError saying what is left; abandoned, it says which
 * containers were stopping and are not removed.
 */
export async function downFleet(deps: ScaleDependencies, config: QscaleConfig, options: DownOptions = {}): Promise<ScalePlan[]> {
  const containers = await deps.engine.listContainers(projectFilter(config.project.name));
  const byService = new Map<string, typeof containers>();
  for (const container of containers) {
    const service = container.labels[LABEL.service] ?? '?';
    byService.set(service, [...(byService.get(service) ?? []), container]);
  }
  const plans = [...byService.entries()].map(([service, serviceContainers]) => {
    const definition = config.compose.services.get(service);
    const graceMs = definition ? stopGraceMs(definition) : DEFAULT_STOP_GRACE_MS;
    return planRemoval(service, serviceContainers, options.stopTimeoutSeconds ?? Math.ceil(graceMs / 1000), 'down');
  });
  for (const plan of plans) deps.onEvent({ type: 'plan', plan });
  if (options.dryRun) return plans;

  const executed = await Promise.all(plans.filter((plan) => !isEmptyPlan(plan)).map(async (plan) => ({ plan, result: await executePlan(deps.engine, plan, deps) })));
  const failures = executed.flatMap(({ result }) => result.failures);
  if (failures.length > 0 || executed.some(({ result }) => result.interrupted || result.abandoned)) {
    const outcomes: ScaleOutcome[] = executed.map(({ plan, result }) => {
      const removed = result.done.filter((operation) => operation.kind === 'remove').length;
      return {
        service: plan.service,
        before: plan.current,
        after: plan.current - removed,
        operations: result.done.map(({ kind, containerName, cause }) => ({ kind, target: containerName, cause })),
        complete: false,
        notDone: [...result.skipped, ...result.failures.map((failure) => failure.operation)].map(({ kind, containerName, cause }) => ({ kind, target: containerName, cause })),
        left: result.left.map(({ containerName, state }) => ({ target: containerName, state })),
        ...(result.failures[0] ? { error: `${result.failures[0].operation.kind} ${result.failures[0].operation.containerName} failed: ${result.failures[0].error.message}` } : {}),
      };
    });
    if (deps.signal?.aborted) throw new IncompleteChangeError('ABORTED', 'interrupted', outcomes, { signal: deps.signal });
    throw new IncompleteChangeError('DOCKER_FAILED', `down: ${failures[0].operation.kind} ${failures[0].operation.containerName} failed: ${failures[0].error.message}`, outcomes);
  }
  const network = defaultNetworkName(config.project.name);
  if (await deps.engine.networkExists(network)) await deps.engine.removeNetwork(network);
  return plans;
}
