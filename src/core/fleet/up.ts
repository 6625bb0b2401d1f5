import { serviceFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import type { ContainerSummary } from '../ports/container-engine.js';
import { liveContainers } from '../scale/plan.js';
import { scaleServices, type ScaleDependencies, type ScaleOutcome, type ScaleRequest } from '../scale/scale-service.js';

export interface UpOptions {
  /** Restore every service to its initial_replicas, even one scaled by hand. */
  reset?: boolean;
  dryRun?: boolean;
  stopTimeoutSeconds?: number;
}

/**
 * Starts the fleet, keeping each service's count. A service with no containers gets its initial
 * replicas. One that has containers keeps as many as it had: the live ones plus the dead (exited,
 * dead) ones, which are replaced — so a fleet killed or stopped by a Docker restart comes back at
 * its size — raised to its min and capped at its max. Created, never started containers do not count.
 */
export async function upFleet(deps: ScaleDependencies, config: QscaleConfig, options: UpOptions = {}): Promise<ScaleOutcome[]> {
  const requests: ScaleRequest[] = await Promise.all(
    config.workers.map(async (worker) => {
      const observed = await deps.engine.listContainers(serviceFilter(config.project.name, worker.name));
      const previous = previousCount(observed);
      const desired = options.reset || previous === 0 ? worker.initialReplicas : Math.min(Math.max(previous, worker.minReplicas), worker.maxReplicas);
      return { worker, desired, stopTimeoutSeconds: options.stopTimeoutSeconds };
    }),
  );
  return scaleServices(deps, requests, { project: config.project, maxWorkersPerQueue: config.scaling.maxWorkersPerQueue, dryRun: options.dryRun });
}

/** How many containers the service ran before: the live ones and the dead ones up will replace. */
export function previousCount(observed: ContainerSummary[]): number {
  return liveContainers(observed).length + observed.filter((container) => container.state === 'exited' || container.state === 'dead').length;
}
