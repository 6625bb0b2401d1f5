import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { configError } from '../errors.js';
import { EnvFileError, parseEnvFile } from './env-file.js';
import type { Environment } from './interpolate.js';

/** Compose's names for a project's file, in its order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
/** The override file Compose merges over the one it found (never over files named with -f). */
export const COMPOSE_OVERRIDE_NAMES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

export interface ComposeFileChoice {
  /** Absolute paths, merged in this order. */
  files: string[];
  /** How each is shown in messages (as the user named it, or relative to the current folder). */
  displayNames: string[];
  /** What chose them, for messages: `-f`, `COMPOSE_FILE`, `project.compose_file` or `found in <dir>`. */
  origin: string;
  /** Notices Compose prints too (several candidate files found). */
  warnings: string[];
}

export interface ComposeFileQuery {
  /** The folder qscale runs in: -f and COMPOSE_FILE paths are relative to it. */
  cwd: string;
  /** -f/--file, repeatable, in order. */
  flagFiles?: readonly string[];
  env: Environment;
  /** project.compose_file in test-config.yml, when written, relative to `configDir`. */
  configured?: string;
  /** The config file's folder: where the search starts when nothing names a file. */
  configDir: string;
}

/**
 * Which compose files make the project, as Compose chooses: -f (repeatable), else COMPOSE_FILE
 * (split on COMPOSE_PATH_SEPARATOR, default `:`), else the config's project.compose_file, else
 * the first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml found in the
 * config's folder or the nearest parent, with its override file.
 */
export function chooseComposeFiles(query: ComposeFileQuery): ComposeFileChoice {
  const shown = (file: string) => path.relative(query.cwd, file) || file;
  const shownDir = (dir: string) => path.relative(query.cwd, dir) || '.';
  const named = (names: readonly string[], base: string, origin: string): ComposeFileChoice => {
    const files = names.map((name) => path.resolve(base, name));
    return { files, displayNames: names.map((name, index) => (path.isAbsolute(name) ? name : shown(files[index]))), origin, warnings: [] };
  };
  if (query.flagFiles && query.flagFiles.length > 0) return named(query.flagFiles, query.cwd, '-f');
  // As Compose does, COMPOSE_FILE may also come from the .env of the folder it runs in.
  const env: Environment = { ...dotEnvOf(query.cwd, query.env), ...query.env };
  const fromEnv = env.COMPOSE_FILE;
  if (fromEnv) {
    const separator = env.COMPOSE_PATH_SEPARATOR || ':';
    return named(fromEnv.split(separator).filter(Boolean), query.cwd, 'COMPOSE_FILE');
  }
  if (query.configured) return named([query.configured], query.configDir, 'project.compose_file');

  for (let dir = path.resolve(query.configDir); ; dir = path.dirname(dir)) {
    const found = COMPOSE_FILE_NAMES.filter((name) => isFile(path.join(dir, name)));
    if (found.length > 0) {
      const warnings: string[] = [];
      if (found.length > 1) warnings.push(`found several compose files in ${shownDir(dir)} (${found.join(', ')}); using ${found[0]}`);
      const overrides = COMPOSE_OVERRIDE_NAMES.filter((name) => isFile(path.join(dir, name)));
      if (overrides.length > 1) warnings.push(`found several override files in ${shownDir(dir)} (${overrides.join(', ')}); using ${overrides[0]}`);
      const files = [path.join(dir, found[0]), ...(overrides.length > 0 ? [path.join(dir, overrides[0])] : [])];
      return { files, displayNames: files.map(shown), origin: `found in ${shownDir(dir)}`, warnings };
    }
    if (path.dirname(dir) === dir) break;
  }
  throw configError(
    `no compose file found in ${shownDir(query.configDir)} or its parents (looked for ${COMPOSE_FILE_NAMES.join(', ')})`,
    'name one with -f/--file, COMPOSE_FILE or project.compose_file, or run `qscale init`',
  );
}

function dotEnvOf(dir: string, env: Environment): Record<string, string> {
  const file = path.join(dir, '.env');
  if (!isFile(file)) return {};
  try {
    return parseEnvFile(readFileSync(file, 'utf8'), env);
  } catch (error) {
    if (error instanceof EnvFileError) throw configError(`${file}: line ${error.line}: ${error.message}`);
    throw error;
  }
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}
