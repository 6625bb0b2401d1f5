import { Command } from 'commander';
import { IncompleteChangeError } from '../../core/scale/scale-service.js';
import { parseSeconds } from '../parse.js';
import { renderIncompleteChange } from '../render/progress.js';
import { addChangeOptions, contextOf, progressFor, type ChangeOptions, type Runtime } from '../runtime.js';

export function downCommand(runtime: Runtime): Command {
  const command = new Command('down').description("stop and remove every container of the project (also those Compose made)");
  return addChangeOptions(command).action(async (options: ChangeOptions, self: Command) => {
    const context = contextOf(runtime, self);
    const stopTimeoutSeconds = parseSeconds(options.timeout, '--timeout');
    const backend = await context.backend(progressFor(context, options));
    const report = (removed: string[], extra: object = {}) => {
      if (options.json) context.out.json({ project: context.config.project.name, dryRun: Boolean(options.dryRun), removed, ...extra });
    };
    try {
      report(await backend.down({ dryRun: options.dryRun, stopTimeoutSeconds }));
    } catch (error) {
      // Interrupted or refused part-way: say what was removed and what is still there.
      if (error instanceof IncompleteChangeError) {
        const removed = error.outcomes.flatMap((outcome) => outcome.operations.filter((operation) => operation.kind === 'remove').map((operation) => operation.target));
        report(removed, { complete: false, services: error.outcomes });
        context.out.info(renderIncompleteChange(context.out, error.outcomes));
      }
      throw error;
    }
  });
}
