import { Interrupt, interruptExitCode, isQscaleError } from '../core/errors.js';
import { maskUrlPasswords } from '../core/secrets.js';
import { realDependencies, type CliDependencies } from './dependencies.js';
import { isClosedStreamError, Output } from './output.js';
import { buildProgram, CommanderError } from './program.js';

/**
 * Runs one qscale command line and returns its exit code (the table in core/errors.ts). Never calls process.exit; never prints a stack trace
 * unless QSCALE_DEBUG is set.
 */
export async function main(argv: string[], deps: CliDependencies = realDependencies(), signal?: AbortSignal): Promise<number> {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  const abandonController = new AbortController();
  const removeSignalHandlers = signal ? () => {} : handleInterrupts(controller, abandonController);
  const out = new Output(deps.stdout, deps.stderr, { color: Output.colorWanted(deps.stderr, deps.env, !argv.includes('--no-color')) });
  try {
    await (await buildProgram({ deps, signal: controller.signal, abandon: abandonController.signal }, argv)).parseAsync(argv);
    return controller.signal.aborted ? interruptExitCode(controller.signal) : 0;
  } catch (error) {
    return reportError(out, error, deps.env, controller.signal);
  } finally {
    removeSignalHandlers();
  }
}

function reportError(out: Output, error: unknown, env: NodeJS.ProcessEnv, signal: AbortSignal): number {
  if (error instanceof CommanderError) {
    // Commander printed its own message already; help and version are successes.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return 2;
  }
  // The reader of our output left (`| head`): as for `docker logs -f | head`, that is no failure.
  if (isClosedStreamError(error) && out.stdoutClosed) return 0;
  if (signal.aborted) {
    out.error('interrupted');
    return interruptExitCode(signal);
  }
  if (isQscaleError(error)) {
    out.error(error.hint ? `${error.message} — ${error.hint}` : error.message);
    if (env.QSCALE_DEBUG && error.cause) out.info(maskUrlPasswords(String((error.cause as Error).stack ?? error.cause)));
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  out.error(message.split('\n')[0]);
  if (env.QSCALE_DEBUG && error instanceof Error) out.info(maskUrlPasswords(error.stack ?? ''));
  return 1;
}

/** After the second Ctrl-C, the run has this long to say what it left before the process exits anyway. */
const ABANDON_GRACE_MS = 3000;

/**
 * The first Ctrl-C (or SIGTERM) aborts the run cleanly: what was begun is finished or undone, then
 * reported. The second abandons that too: the run reports what it left and returns. Should it
 * still not end (a call the engine does not answer), the process exits after ABANDON_GRACE_MS, or
 * at once on a third signal.
 */
function handleInterrupts(controller: AbortController, abandonController: AbortController): () => void {
  const onSignal = (name: NodeJS.Signals) => {
    if (abandonController.signal.aborted) process.exit(interruptExitCode(controller.signal));
    if (controller.signal.aborted) {
      abandonController.abort(new Interrupt(name === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
      setTimeout(() => process.exit(interruptExitCode(controller.signal)), ABANDON_GRACE_MS).unref();
      return;
    }
    controller.abort(new Interrupt(name === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
