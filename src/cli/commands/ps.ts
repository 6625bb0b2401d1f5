import { Command } from 'commander';
import { collectContainers } from '../../core/fleet/collect-ps.js';
import { usageError } from '../../core/errors.js';
import { renderContainers } from '../render/tables.js';
import { contextOf, type Runtime } from '../runtime.js';

export function psCommand(runtime: Runtime): Command {
  return new Command('ps')
    .description("list the project's containers, whoever created them")
    .argument('[service...]', 'only these services')
    .option('--json', 'print the rows as JSON')
    .action(async (services: string[], options: { json?: boolean }, self: Command) => {
      const context = contextOf(runtime, self);
      const { config } = context;
      const unknown = services.find((service) => !config.compose.services.has(service));
      if (unknown) throw usageError(`unknown service "${unknown}" (not in ${config.compose.file})`);
      const rows = await collectContainers(context.engine, config.project.name, runtime.deps.clock, services);
      if (options.json) context.out.json(rows);
      else context.out.line(renderContainers(context.out, rows));
    });
}
