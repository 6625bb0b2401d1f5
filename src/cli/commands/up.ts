import { Command } from 'commander';
import { queueMismatches } from '../../core/config/qscale-config.js';
import { autoscaleFleet } from './autoscale.js';
import { parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, progressFor, runChange, type ChangeOptions, type Runtime } from '../runtime.js';

export function upCommand(runtime: Runtime): Command {
  const command = new Command('up')
    .description('start every worker service at its initial replicas; services scaled by hand keep their count')
    .option('--reset', 'restore every service to its initial_replicas, even one scaled by hand');
  return addChangeOptions(command).action(async (options: ChangeOptions & { reset?: boolean }, self: Command) => {
    const context = contextOf(runtime, self);
    const stopTimeoutSeconds = parseSeconds(options.timeout, '--timeout');
    for (const mismatch of queueMismatches(context.config)) context.out.warn(mismatch.message);
    const backend = await context.backend(progressFor(context, options));
    await runChange(context, options, () => backend.up({ reset: options.reset, dryRun: options.dryRun, stopTimeoutSeconds }));
    // system.scaling.auto_scale: keep the fleet sized to its queues until Ctrl-C.
    if (context.config.scaling.autoScale && !options.dryRun) await autoscaleFleet(context, undefined, { json: options.json });
  });
}
