import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import packageJson from '../../../package.json' with { type: 'json' };
import { findTemplatesDir, planScaffold, projectNameFor, readTemplates, writeScaffold } from '../../core/init/scaffold.js';
import { contextOf, type Runtime } from '../runtime.js';

export function initCommand(runtime: Runtime): Command {
  return new Command('init')
    .description('write a new worker fleet project (config, compose file, .env, worker source, Dockerfile, Makefile, README)')
    .argument('[dir]', 'folder to write it to', '.')
    .option('--name <project>', "project name: prefixes the image and queue names (default: the folder's name)")
    .option('--qscale <spec>', 'the devDependency on qscale that `make install` installs: a version range, or a tarball as file:<path>', `^${packageJson.version}`)
    .option('--force', 'overwrite files that already exist')
    .action(async (dir: string, options: { force?: boolean; name?: string; qscale: string }, self: Command) => {
      const context = contextOf(runtime, self);
      const target = path.resolve(runtime.deps.cwd, dir);
      const project = projectNameFor(target, options.name);
      const templates = readTemplates(findTemplatesDir(import.meta.url), { project, qscaleSpec: options.qscale });
      const plan = planScaffold(target, templates, existsSync, { force: options.force });
      writeScaffold(plan);
      for (const file of plan.files) context.out.line(`${file.action === 'create' ? 'created  ' : 'overwrote'} ${path.join(dir, file.path)}`);
      context.out.line('');
      context.out.line(`project ${project}: image ${project}-worker:local, queues ${project}.task_a and ${project}.task_b`);
      context.out.line(`next: ${dir === '.' ? '' : `cd ${dir} && `}make install image up   (make setup first if this host lacks Docker or RabbitMQ)`);
    });
}
