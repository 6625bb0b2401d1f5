import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { configError } from '../errors.js';
import type { Environment } from './interpolate.js';

export const DEFAULT_CONFIG_NAME = 'test-config.yml';

export interface ConfigFileChoice {
  /** Absolute path. */
  file: string;
  /** As messages show it: as the user named it, or relative to the current folder. */
  displayName: string;
  /** What chose it: `-c`, `QSCALE_CONFIG` or `found in <dir>`. */
  origin: string;
}

/**
 * Which qscale config file to read: -c/--config, else QSCALE_CONFIG (both relative to the current
 * folder), else test-config.yml in the current folder or the nearest parent that has one, as
 * Compose looks for its files.
 */
export function chooseConfigFile(query: { flag?: string; env: Environment; cwd: string }): ConfigFileChoice {
  if (query.flag) return { file: path.resolve(query.cwd, query.flag), displayName: query.flag, origin: '-c' };
  const fromEnv = query.env.QSCALE_CONFIG;
  if (fromEnv) return { file: path.resolve(query.cwd, fromEnv), displayName: fromEnv, origin: 'QSCALE_CONFIG' };
  for (let dir = path.resolve(query.cwd); ; dir = path.dirname(dir)) {
    const file = path.join(dir, DEFAULT_CONFIG_NAME);
    if (existsSync(file) && statSync(file).isFile()) {
      return { file, displayName: path.relative(query.cwd, file) || file, origin: `found in ${path.relative(query.cwd, dir) || '.'}` };
    }
    if (path.dirname(dir) === dir) break;
  }
  throw configError(`no ${DEFAULT_CONFIG_NAME} in this folder or its parents`, 'name one with -c/--config or QSCALE_CONFIG, or run `qscale init`');
}
