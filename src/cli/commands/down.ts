import { Command } from 'commander';
import { parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, progressFor, type ChangeOptions, type Runtime } from '../runtime.js';

export function downCommand(runtime: Runtime): Command {
  const command = new Command('down').description("stop and remove every container of the project (also those Compose made)");
  return addChangeOptions(command).action(async (options: ChangeOptions, self: Command) => {
    const context = contextOf(runtime, self);
    const backend = await context.backend(progressFor(context, options));
    const removed = await backend.down({ dryRun: options.dryRun, stopTimeoutSeconds: parseSeconds(options.timeout, '--timeout') });
    if (options.json) {
      context.out.json({
        project: context.config.project.name,
        dryRun: Boolean(options.dryRun),
        removed,
      });
    }
  });
}
