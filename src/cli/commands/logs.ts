import { once } from 'node:events';
import { Command } from 'commander';
import { checkComposeServices } from '../../core/config/qscale-config.js';
import { parseDurationMs } from '../../core/duration.js';
import { usageError } from '../../core/errors.js';
import type { LogEvent } from '../../core/logs/follow-fleet-logs.js';
import type { OutputStream } from '../dependencies.js';
import { untilInterruptedOrClosed } from '../output.js';
import { parseCount } from '../parse.js';
import { describeLifecycle, LogLineRenderer, renderEngineOutage } from '../render/log-lines.js';
import { contextOf, type Runtime } from '../runtime.js';

interface LogsOptions {
  follow?: boolean;
  tail: string;
  since?: string;
  timestamps?: boolean;
  json?: boolean;
}

export function logsCommand(runtime: Runtime): Command {
  return new Command('logs')
    .description("show the services' container logs; with --follow, keep going and attach containers as they start")
    .argument('[service...]', 'only these services')
    .option('-f, --follow', 'follow the output, attaching containers that start later')
    .option('-n, --tail <lines>', 'lines to show from the end of each container\'s existing logs, or "all"', 'all')
    .option('--since <when>', 'only logs newer than a duration (10m, 1h30m) or a time (2024-05-01T10:00:00Z, or Unix seconds)')
    .option('-t, --timestamps', 'show the time of each line')
    .option('--json', 'one JSON object per line: {container, service, number, stream, time, message}')
    .action(async (services: string[], options: LogsOptions, self: Command) => {
      const { clock, stdout } = runtime.deps;
      // Following ends quietly once stdout's reader is gone (`logs -f | head`).
      const signal = untilInterruptedOrClosed(runtime.signal, stdout);
      const context = contextOf({ ...runtime, signal }, self);
      const tail = options.tail.trim() === 'all' ? undefined : parseCount(options.tail, '--tail');
      const sinceSeconds = options.since === undefined ? undefined : parseSince(options.since, clock.now());
      const { config } = context;
      checkComposeServices(config, services);
      const json = Boolean(options.json);
      const renderer = new LogLineRenderer(context.out.color, { timestamps: Boolean(options.timestamps), json });
      const onEvent = (event: LogEvent): Promise<void> | undefined => {
        switch (event.type) {
          case 'line':
            context.out.line(renderer.line(event, clock.now()));
            return drained(stdout, signal);
          case 'attached':
            renderer.widen(event.container);
            if (options.follow) context.out.info(renderer.notice(event.container, 'attached'));
            return undefined;
          case 'detached':
            if (options.follow) context.out.info(renderer.notice(event.container, 'detached'));
            return undefined;
          case 'lifecycle':
            context.out.info(renderer.notice(event.event.container, event.event.kind === 'died' ? exitedText(event.event.exitCode) : describeLifecycle(event.event)));
            return undefined;
          case 'warning':
            context.out.warn(event.message);
            return undefined;
          case 'engine-lost':
            context.out.warn(renderEngineOutage(event));
            return undefined;
          case 'engine-back':
            context.out.info(renderEngineOutage(event));
            return undefined;
        }
      };
      const backend = await context.backend();
      await backend.followLogs(
        // --json always carries the engine's time of each line.
        {
          services,
          follow: Boolean(options.follow),
          tail,
          sinceSeconds,
          timestamps: Boolean(options.timestamps) || json,
        },
        onEvent,
      );
    });
}



/** Compose's wording, so operators' habits and greps carry over. */
function exitedText(exitCode: number | undefined): string {
  return exitCode === undefined ? 'exited' : `exited with code ${exitCode}`;
}

/** A duration back from now, an RFC 3339 time, or Unix seconds; in Unix seconds. */
export function parseSince(text: string, nowMs: number): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const ms = /\d(ms|h|m|s)$/.test(trimmed) ? parseDurationMs(trimmed) : undefined;
  if (ms !== undefined) return (nowMs - ms) / 1000;
  const time = /^\d{4}-\d\d-\d\d/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (!Number.isNaN(time)) return time / 1000;
  throw usageError(`--since: "${text}" is not a duration (10m, 1h30m), a time (2024-05-01T10:00:00Z) or Unix seconds`);
}

/**
 * When the terminal or pipe is not keeping up, the promise that settles once it has drained:
 * the log follower waits on it before reading that container any further.
 */
function drained(stream: OutputStream, signal: AbortSignal): Promise<void> | undefined {
  const writable = stream as OutputStream & { writableNeedDrain?: boolean; once?: unknown };
  if (!writable.writableNeedDrain || typeof writable.once !== 'function') return undefined;
  return once(writable as unknown as NodeJS.EventEmitter, 'drain', { signal }).then(
    () => undefined,
    () => undefined,
  );
}
