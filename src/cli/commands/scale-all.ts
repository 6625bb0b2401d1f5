import { Command } from 'commander';
import { assertScalingEnabled, scaleServices } from '../../core/scale/scale-service.js';
import { parseCount, parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, printOutcomes, progressFor, type ChangeOptions, type Runtime } from '../runtime.js';

export function scaleAllCommand(runtime: Runtime): Command {
  const command = new Command('scale-all')
    .description('run <count> containers of every worker service (all checked against their limits first)')
    .argument('<count>', 'number of running containers wanted per service');
  return addChangeOptions(command).action(async (countText: string, options: ChangeOptions, self: Command) => {
    const context = contextOf(runtime, self);
    const desired = parseCount(countText, '<count>');
    const stopTimeoutSeconds = parseSeconds(options.timeout, '--timeout');
    const { config } = context;
    assertScalingEnabled(config.scaling, config.configFile);
    const outcomes = await scaleServices(
      context.scaleDependencies(progressFor(context, options)),
      config.workers.map((worker) => ({ worker, desired, stopTimeoutSeconds })),
      { project: config.project, maxWorkersPerQueue: config.scaling.maxWorkersPerQueue, dryRun: options.dryRun },
    );
    printOutcomes(context, outcomes, options);
  });
}
