import type { Command } from 'commander';
import { IncompleteChangeError, type ScaleOutcome } from '../core/scale/scale-service.js';
import { CommandContext } from './context.js';
import type { CliDependencies } from './dependencies.js';
import { progressRenderer, renderIncompleteChange, type ProgressMode } from './render/progress.js';

/** What every command file receives: the dependencies and the run's abort signal. */
export interface Runtime {
  deps: CliDependencies;
  /** The first Ctrl-C: finish or undo what was begun, report, exit 130 (143 on SIGTERM). */
  signal: AbortSignal;
  /** The second Ctrl-C: give up what is in flight, say what was left. */
  abandon?: AbortSignal;
}

export function contextOf(runtime: Runtime, command: Command): CommandContext {
  return CommandContext.of(command, runtime.deps, runtime.signal, runtime.abandon);
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
  // Say at once what the first Ctrl-C does: stops can take their whole grace period.
  if (mode === 'normal') {
    context.signal.addEventListener('abort', () => context.out.info('interrupted: finishing or undoing what was begun (Ctrl-C again to give up on it)'), { once: true });
  }
  return progressRenderer(context.out, mode);
}

export function printOutcomes(context: CommandContext, outcomes: ScaleOutcome[], options: ChangeOptions): void {
  if (options.json) {
    const complete = outcomes.every((outcome) => outcome.complete !== false);
    context.out.json({
      project: context.config.project.name,
      dryRun: Boolean(options.dryRun),
      complete,
      services: outcomes.map((outcome) => ({
        service: outcome.service,
        before: outcome.before,
        after: outcome.after,
        operations: outcome.operations,
        ...(outcome.complete === false
          ? { complete: false, notDone: outcome.notDone ?? [], left: outcome.left ?? [], ...(outcome.error ? { error: outcome.error } : {}) }
          : {}),
      })),
    });
  }
}

/**
 * Runs a change and prints its outcome. A change that stopped part-way (interrupted, or refused
 * by the engine) still prints what changed, what did not and the resulting counts, JSON included,
 * before its error sets the exit code.
 */
export async function runChange(context: CommandContext, options: ChangeOptions, change: () => Promise<ScaleOutcome[]>): Promise<ScaleOutcome[]> {
  try {
    const outcomes = await change();
    printOutcomes(context, outcomes, options);
    return outcomes;
  } catch (error) {
    if (error instanceof IncompleteChangeError) {
      printOutcomes(context, error.outcomes, options);
      context.out.info(renderIncompleteChange(context.out, error.outcomes));
    }
    throw error;
  }
}
