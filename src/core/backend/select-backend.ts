import type { QscaleConfig } from '../config/qscale-config.js';
import { ComposeBackend, type BackendDependencies } from './compose-backend.js';
import type { FleetBackend } from './fleet-backend.js';

/** Picks the backend the config asks for (`system.backend`), or detects it (`auto`). */
export async function selectBackend(config: QscaleConfig, deps: BackendDependencies): Promise<FleetBackend> {
  return new ComposeBackend(config, deps);
}
