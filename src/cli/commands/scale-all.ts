import { Command } from 'commander';
import { assertScalingEnabled, checkScaleRequest } from '../../core/scale/scale-service.js';
import { parseCount, parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, progressFor, runChange, type ChangeOptions, type Runtime } from '../runtime.js';

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
    // Every service's limits, before the engine is contacted (exit 2, nothing changed).
    const requests = config.workers.map((worker) => ({ worker, desired, stopTimeoutSeconds }));
    for (const request of requests) checkScaleRequest(request, config.scaling.maxWorkersPerQueue);
    const backend = await context.backend(progressFor(context, options));
    await runChange(context, options, () => backend.scale(requests, { dryRun: options.dryRun }));
  });
}
