import { Command } from 'commander';
import { checkComposeServices } from '../../core/config/qscale-config.js';
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
      checkComposeServices(config, services);
      const rows = await (await context.backend()).replicas(services);
      if (options.json) context.out.json(rows);
      else context.out.line(renderReplicas(context.out, rows));
    });
}
