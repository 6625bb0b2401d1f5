import { Command } from 'commander';
import { downFleet } from '../../core/fleet/down.js';
import { parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, progressFor, type ChangeOptions, type Runtime } from '../runtime.js';

export function downCommand(runtime: Runtime): Command {
  const command = new Command('down').description("stop and remove every container of the project (also those Compose made)");
  return addChangeOptions(command).action(async (options: ChangeOptions, self: Command) => {
    const context = contextOf(runtime, self);
    const plans = await downFleet(context.scaleDependencies(progressFor(context, options)), context.config, {
      dryRun: options.dryRun,
      stopTimeoutSeconds: parseSeconds(options.timeout, '--timeout'),
    });
    if (options.json) {
      context.out.json({
        project: context.config.project.name,
        dryRun: Boolean(options.dryRun),
        removed: plans.flatMap((plan) => plan.chains.map((chain) => chain.operations[0].containerName)),
      });
    }
  });
}
