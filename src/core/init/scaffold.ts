import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QscaleError, usageError } from '../errors.js';

/** One file of a new project: where it goes (relative, with /) and what it holds. */
export interface TemplateFile {
  path: string;
  content: string;
}

export interface ScaffoldPlan {
  /** Absolute folder the project is written to. */
  dir: string;
  files: Array<TemplateFile & { action: 'create' | 'overwrite' }>;
}

/**
 * Where each file of a new project comes from, relative to qscale's templates/ folder. The worker
 * source and Dockerfile are the very ones qscale's own image is built from.
 */
const SOURCES: Array<{ from: string; to: string }> = [
  { from: 'project/test-config.yml', to: 'test-config.yml' },
  { from: 'project/docker-compose.yml', to: 'docker-compose.yml' },
  { from: 'project/Makefile', to: 'Makefile' },
  { from: 'project/package.json', to: 'package.json' },
  { from: 'project/gitignore', to: '.gitignore' },
  { from: 'project/env', to: '.env' },
  { from: 'project/README.md', to: 'README.md' },
  { from: 'Dockerfile', to: 'Dockerfile' },
];
const WORKER_SOURCE = { from: 'worker/src', to: 'worker/src' };

/** What the templates' placeholders stand for. */
export interface ScaffoldValues {
  /** The Compose project name: it prefixes the image, queue and results-queue names. */
  project: string;
  /** The project's devDependency on qscale: an npm version range or spec (file:…tgz, a git URL). */
  qscaleSpec: string;
}

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * The project name for a new project: the one given, else the folder's name made into a Compose
 * project name (lowercase; other characters dropped), as Compose derives it.
 */
export function projectNameFor(dir: string, given?: string): string {
  if (given !== undefined) {
    if (!PROJECT_NAME.test(given)) throw usageError(`--name: "${given}" is not a valid project name`, 'use lowercase letters, digits, dashes and underscores, starting with a letter or digit');
    return given;
  }
  const derived = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '');
  if (!derived) throw usageError(`cannot derive a project name from folder "${dir}"`, 'pass --name <project>');
  return derived;
}

/** Reads the files of a new project from qscale's templates/ folder, placeholders filled in. */
export function readTemplates(templatesDir: string, values: ScaffoldValues): TemplateFile[] {
  const read = (from: string) => readFileSync(path.join(templatesDir, from), 'utf8').replaceAll('{{PROJECT}}', values.project).replaceAll('{{QSCALE_SPEC}}', JSON.stringify(values.qscaleSpec).slice(1, -1));
  const workerFiles = readdirSync(path.join(templatesDir, WORKER_SOURCE.from))
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => ({ path: `${WORKER_SOURCE.to}/${name}`, content: read(`${WORKER_SOURCE.from}/${name}`) }));
  return [...SOURCES.map(({ from, to }) => ({ path: to, content: read(from) })), ...workerFiles];
}

/**
 * Decides what `qscale init` writes. Existing files are refused as a whole, before anything is
 * written, unless force is set; then they are overwritten.
 */
export function planScaffold(dir: string, templates: TemplateFile[], exists: (file: string) => boolean, options: { force?: boolean } = {}): ScaffoldPlan {
  const files = templates.map((template) => ({ ...template, action: exists(path.join(dir, template.path)) ? ('overwrite' as const) : ('create' as const) }));
  const existing = files.filter((file) => file.action === 'overwrite').map((file) => file.path);
  if (existing.length > 0 && !options.force) {
    throw usageError(`${dir} already has ${existing.join(', ')}; nothing was written`, 'pass --force to overwrite them');
  }
  return { dir, files };
}

/** Writes the plan's files, making folders as needed. */
export function writeScaffold(plan: ScaffoldPlan): void {
  for (const file of plan.files) {
    const target = path.join(plan.dir, file.path);
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content);
    } catch (error) {
      throw new QscaleError('USAGE', `cannot write ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }
}

/** qscale's templates/ folder: beside src/ in the repository, beside dist/ once built. */
export function findTemplatesDir(moduleUrl: string): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const candidate = path.join(dir, 'templates');
    if (existsSync(path.join(candidate, 'project'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new QscaleError('USAGE', `qscale's templates folder was not found above ${path.dirname(fileURLToPath(moduleUrl))}`, { hint: 'reinstall qscale' });
    dir = parent;
  }
}
