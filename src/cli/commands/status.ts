import { Command } from 'commander';
import { collectStatus, type FleetStatus } from '../../core/fleet/collect-status.js';
import { QscaleError } from '../../core/errors.js';
import { EngineOutage } from '../../core/logs/engine-outage.js';
import { maskUrlPasswords } from '../../core/secrets.js';
import { untilInterruptedOrClosed } from '../output.js';
import { parseIntervalMs } from '../parse.js';
import { renderEngineOutage } from '../render/log-lines.js';
import { renderStatus } from '../render/tables.js';
import { BacklogHistory, fitLines } from '../render/watch-frame.js';
import { contextOf, type Runtime } from '../runtime.js';

export function statusCommand(runtime: Runtime): Command {
  return new Command('status')
    .description('one row per worker service: containers, health, and its queue from the broker')
    .option('--json', 'print the status as JSON')
    .option('-w, --watch [interval]', 'refresh in place (default every 2s) until Ctrl-C')
    .action(async (options: { json?: boolean; watch?: string | boolean }, self: Command) => {
      const { deps } = runtime;
      // Watching ends quietly once stdout's reader is gone (`status --watch | head -1`).
      const signal = untilInterruptedOrClosed(runtime.signal, deps.stdout);
      const context = contextOf({ ...runtime, signal }, self);
      const { config } = context;
      const intervalMs = typeof options.watch === 'string' ? parseIntervalMs(options.watch, '--watch') : 2000;
      const backend = await context.backend();
      const collect = () => collectStatus(backend, () => deps.openBroker(config.broker.url, config.broker.managementUrl), maskUrlPasswords(config.broker.url));
      if (!options.watch) {
        const status = await collect();
        if (!options.json) {
          context.out.line(renderStatus(context.out, status));
          return;
        }
        context.out.json(status);
        for (const warning of status.warnings) context.out.warn(warning);
        // Scripts must not mistake "nothing from the broker" for empty queues.
        if (!status.broker.reachable) throw new QscaleError('BROKER_UNREACHABLE', `nothing could be read from the broker: ${status.broker.error ?? status.broker.endpoint}`);
        return;
      }
      let previousLines = 0;
      const backlog = new BacklogHistory();
      // A Docker restart is ridden out: one line when the engine goes, one when it is back.
      const outage = new EngineOutage();
      let answeredOnce = false;
      while (!signal.aborted) {
        let status: FleetStatus | undefined;
        try {
          status = await collect();
        } catch (error) {
          // An engine that never answered is a failure to start, not an outage to wait out.
          if (signal.aborted) break;
          if (!answeredOnce) throw error;
          const lost = outage.failed(deps.clock.now(), error);
          if (lost) {
            context.out.warn(renderEngineOutage(lost));
            previousLines = 0;
          }
        }
        if (status) {
          answeredOnce = true;
          const back = outage.answered(deps.clock.now());
          if (back) {
            context.out.info(renderEngineOutage(back));
            previousLines = 0;
          }
          if (options.json) context.out.line(JSON.stringify(status));
          else {
            backlog.record(status);
            const text = [
              renderStatus(context.out, status),
              ...backlog.render(status, context.out.color),
              context.out.color.dim(`every ${intervalMs / 1000}s · ${new Date(deps.clock.now()).toLocaleTimeString()} · Ctrl-C to stop`),
            ].join('\n');
            // In place on a terminal: every line cut to the width, so none wraps and moving up over
            // the previous frame's lines lands on its first line at any width; then clear below.
            const lines = context.out.interactive ? fitLines(text, context.out.columns) : text.split('\n');
            if (context.out.interactive && previousLines > 0) context.out.raw(`\x1b[${previousLines}A\x1b[0J`);
            context.out.line(lines.join('\n'));
            previousLines = lines.length;
          }
        }
        await deps.clock.sleep(intervalMs, signal).catch(() => {});
      }
    });
}
