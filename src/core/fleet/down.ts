import { defaultNetworkName, LABEL, projectFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import { QscaleError } from '../errors.js';
import { DEFAULT_STOP_GRACE_MS, stopGraceMs } from '../scale/container-spec.js';
import { executePlan } from '../scale/execute.js';
import { isEmptyPlan, planRemoval, type ScalePlan } from '../scale/plan.js';
import type { ScaleDependencies } from '../scale/scale-service.js';

export interface DownOptions {
  dryRun?: boolean;
  stopTimeoutSeconds?: number;
}

/** Stops and removes every container of the project, whoever created it, then its default network. */
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

  const results = await Promise.all(plans.filter((plan) => !isEmptyPlan(plan)).map((plan) => executePlan(deps.engine, plan, deps)));
  const failures = results.flatMap((result) => result.failures);
  if (failures.length > 0) {
    throw new QscaleError('DOCKER_FAILED', `down: ${failures[0].operation.kind} ${failures[0].operation.containerName} failed: ${failures[0].error.message}`);
  }
  const network = defaultNetworkName(config.project.name);
  if (await deps.engine.networkExists(network)) await deps.engine.removeNetwork(network);
  return plans;
}
