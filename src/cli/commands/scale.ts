import { Command } from 'commander';
import { findWorker } from '../../core/config/qscale-config.js';
import { assertScalingEnabled, checkScaleRequest } from '../../core/scale/scale-service.js';
import { parseCount, parseSeconds } from '../parse.js';
import { addChangeOptions, contextOf, progressFor, runChange, type ChangeOptions, type Runtime } from '../runtime.js';

export function scaleCommand(runtime: Runtime): Command {
  const command = new Command('scale')
    .description('run exactly <count> containers of a worker service')
    .argument('<service>', 'worker service from the config (e.g. worker-a)')
    .argument('<count>', 'number of running containers wanted');
  return addChangeOptions(command).action(async (service: string, countText: string, options: ChangeOptions, self: Command) => {
    const context = contextOf(runtime, self);
    const desired = parseCount(countText, '<count>');
    const stopTimeoutSeconds = parseSeconds(options.timeout, '--timeout');
    const { config } = context;
    const worker = findWorker(config, service);
    assertScalingEnabled(config.scaling, config.configFile);
    // Limits are known without Docker: refuse before the engine is contacted (exit 2).
    const request = { worker, desired, stopTimeoutSeconds };
    checkScaleRequest(request, config.scaling.maxWorkersPerQueue);
    const backend = await context.backend(progressFor(context, options));
    await runChange(context, options, () => backend.scale([request], { dryRun: options.dryRun }));
  });
}
