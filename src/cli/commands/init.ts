import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { findTemplatesDir, planScaffold, readTemplates, writeScaffold } from '../../core/init/scaffold.js';
import { contextOf, type Runtime } from '../runtime.js';

export function initCommand(runtime: Runtime): Command {
  return new Command('init')
    .description('write a new worker fleet project (config, compose file, worker source, Dockerfile, Makefile)')
    .argument('[dir]', 'folder to write it to', '.')
    .option('--force', 'overwrite files that already exist')
    .action(async (dir: string, options: { force?: boolean }, self: Command) => {
      const context = contextOf(runtime, self);
      const target = path.resolve(runtime.deps.cwd, dir);
      const plan = planScaffold(target, readTemplates(findTemplatesDir(import.meta.url)), existsSync, { force: options.force });
      writeScaffold(plan);
      for (const file of plan.files) context.out.line(`${file.action === 'create' ? 'created  ' : 'overwrote'} ${path.join(dir, file.path)}`);
      context.out.line('');
      context.out.line(`next: ${dir === '.' ? '' : `cd ${dir} && `}make demo   (or: make setup image up)`);
    });
}
