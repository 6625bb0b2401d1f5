import { Command } from 'commander';
import { usageError } from '../../core/errors.js';
import { renderReplicas } from '../render/tables.js';
import { contextOf, type Runtime } from '../runtime.js';

export function psCommand(runtime: Runtime): Command {
  return new Command('ps')
    .description("list the project's replicas (containers, or Swarm tasks), whoever created them")
    .argument('[service...]', 'only these services')
    .option('--json', 'print the rows as JSON')
    .action(async (services: string[], options: { json?: boolean }, self: Command) => {
      const context = contextOf(runtime, self);
      const { config } = context;
      const unknown = services.find((service) => !config.compose.services.has(service));
      if (unknown) throw usageError(`unknown service "${unknown}" (not in ${config.compose.file})`);
      const rows = await (await context.backend()).replicas(services);
      if (options.json) context.out.json(rows);
      else context.out.line(renderReplicas(context.out, rows));
    });
}
