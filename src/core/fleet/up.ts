import { serviceFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import { liveContainers } from '../scale/plan.js';
import { scaleServices, type ScaleDependencies, type ScaleOutcome, type ScaleRequest } from '../scale/scale-service.js';

export interface UpOptions {
  /** Restore every service to its initial_replicas, even one scaled by hand. */
  reset?: boolean;
  dryRun?: boolean;
  stopTimeoutSeconds?: number;
}

/**
 * Starts the fleet. A service with no containers gets its initial replicas; one that was scaled
 * by hand keeps its count and is only raised to its min (and has dead containers replaced).
 */
export async function upFleet(deps: ScaleDependencies, config: QscaleConfig, options: UpOptions = {}): Promise<ScaleOutcome[]> {
  const requests: ScaleRequest[] = await Promise.all(
    config.workers.map(async (worker) => {
      const observed = await deps.engine.listContainers(serviceFilter(config.project.name, worker.name));
      const live = liveContainers(observed, deps.clock.now()).length;
      const desired = options.reset || observed.length === 0 ? worker.initialReplicas : Math.min(Math.max(live, worker.minReplicas), worker.maxReplicas);
      return { worker, desired, stopTimeoutSeconds: options.stopTimeoutSeconds };
    }),
  );
  return scaleServices(deps, requests, { project: config.project, maxWorkersPerQueue: config.scaling.maxWorkersPerQueue, dryRun: options.dryRun });
}
