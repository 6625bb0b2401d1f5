import type { Command } from 'commander';
import type { ScaleOutcome } from '../core/scale/scale-service.js';
import { CommandContext } from './context.js';
import type { CliDependencies } from './dependencies.js';
import { progressRenderer, type ProgressMode } from './render/progress.js';

/** What every command file receives: the dependencies and the run's abort signal. */
export interface Runtime {
  deps: CliDependencies;
  signal: AbortSignal;
}

export function contextOf(runtime: Runtime, command: Command): CommandContext {
  return CommandContext.of(command, runtime.deps, runtime.signal);
}

/** The flags every command that changes containers shares. */
export interface ChangeOptions {
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
  timeout?: string;
}

export function addChangeOptions(command: Command): Command {
  return command
    .option('-t, --timeout <seconds>', "stop timeout for removed containers (default: the service's stop_grace_period, else 10s)")
    .option('--dry-run', 'print the plan (each Docker operation and why) and change nothing')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--json', 'print the outcome as JSON');
}

export function progressFor(context: CommandContext, options: ChangeOptions) {
  const mode: ProgressMode = options.json || options.quiet ? 'quiet' : options.dryRun ? 'dry-run' : 'normal';
  return progressRenderer(context.out, mode);
}

export function printOutcomes(context: CommandContext, outcomes: ScaleOutcome[], options: ChangeOptions): void {
  if (options.json) {
    context.out.json({
      project: context.config.project.name,
      dryRun: Boolean(options.dryRun),
      services: outcomes.map((outcome) => ({
        service: outcome.service,
        before: outcome.before,
        after: outcome.after,
        operations: outcome.operations,
      })),
    });
  }
}
