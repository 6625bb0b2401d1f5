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
  { from: 'Dockerfile', to: 'Dockerfile' },
];
const WORKER_SOURCE = { from: 'worker/src', to: 'worker/src' };

/** Where the new project finds qscale itself (its CLI and set-up scripts): the templates' parent. */
const QSCALE_HOME_PLACEHOLDER = '{{QSCALE_HOME}}';

/** Reads the files of a new project from qscale's templates/ folder. */
export function readTemplates(templatesDir: string): TemplateFile[] {
  const qscaleHome = path.dirname(path.resolve(templatesDir));
  const read = (from: string) => readFileSync(path.join(templatesDir, from), 'utf8').replaceAll(QSCALE_HOME_PLACEHOLDER, qscaleHome);
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
