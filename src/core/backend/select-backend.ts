import { stackFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import { QscaleError } from '../errors.js';
import type { SwarmApi } from '../ports/swarm.js';
import { SwarmBackend, type SwarmBackendOptions } from '../swarm/swarm-backend.js';
import { ComposeBackend, type BackendDependencies } from './compose-backend.js';
import type { FleetBackend } from './fleet-backend.js';

export interface SelectBackendDependencies extends BackendDependencies {
  /** The engine's Swarm API; without it only Compose can run. */
  swarm?: SwarmApi;
  swarmOptions?: Partial<SwarmBackendOptions>;
}

/**
 * Picks the backend the config asks for (`system.backend`), or detects it (`auto`): Swarm when
 * the engine manages a swarm in which this project's stack has services, else Compose.
 */
export async function selectBackend(config: QscaleConfig, deps: SelectBackendDependencies): Promise<FleetBackend> {
  const { swarm } = deps;
  const setting = config.backend ?? 'auto';
  if (setting === 'compose') return new ComposeBackend(config, deps);
  if (setting === 'swarm') {
    if (!swarm || !(await swarm.isManager())) {
      throw new QscaleError('USAGE', `system.backend is swarm, but the engine at ${swarm?.endpoint ?? deps.engine.endpoint} is not a swarm manager`, {
        hint: 'point DOCKER_HOST at a manager node (ssh://user@manager), or run `docker swarm init`',
      });
    }
    return swarmBackend(config, deps, swarm);
  }
  if (swarm && (await swarm.isManager()) && (await swarm.listServices(stackFilter(config.project.name))).length > 0) {
    return swarmBackend(config, deps, swarm);
  }
  return new ComposeBackend(config, deps);
}

function swarmBackend(config: QscaleConfig, deps: SelectBackendDependencies, swarm: SwarmApi): SwarmBackend {
  return new SwarmBackend(config, { swarm, engine: deps.engine, clock: deps.clock, onEvent: deps.onEvent, signal: deps.signal }, deps.swarmOptions);
}
