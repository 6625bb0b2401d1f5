import { Command } from 'commander';
import { checkComposeServices } from '../../core/config/qscale-config.js';
import { followLifecycle } from '../../core/logs/container-lifecycle.js';
import { untilInterruptedOrClosed } from '../output.js';
import { renderEngineOutage, renderLifecycle } from '../render/log-lines.js';
import { contextOf, type Runtime } from '../runtime.js';

export function eventsCommand(runtime: Runtime): Command {
  return new Command('events')
    .description("live feed of the fleet's containers: created, started, died (with exit code), removed, health changes")
    .argument('[service...]', 'only these services')
    .option('--json', 'one JSON object per line: {time, event, container, service, number, id, exitCode?, health?}')
    .action(async (services: string[], options: { json?: boolean }, self: Command) => {
      // The feed ends quietly once stdout's reader is gone (`events | head -1`).
      const signal = untilInterruptedOrClosed(runtime.signal, runtime.deps.stdout);
      const context = contextOf({ ...runtime, signal }, self);
      const { config } = context;
      checkComposeServices(config, services);
      const json = Boolean(options.json);
      await followLifecycle({ source: context.engine, clock: runtime.deps.clock, signal }, { project: config.project.name, services }, (event) => {
        if (event.type === 'lifecycle') context.out.line(renderLifecycle(context.out.color, event.event, json));
        else if (event.type === 'engine-lost') context.out.warn(renderEngineOutage(event));
        else context.out.info(renderEngineOutage(event));
      });
    });
}
