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
  const removeSignalHandlers = signal ? () => {} : handleInterrupts(controller);
  const out = new Output(deps.stdout, deps.stderr, { color: Output.colorWanted(deps.stderr, deps.env, !argv.includes('--no-color')) });
  try {
    await (await buildProgram({ deps, signal: controller.signal }, argv)).parseAsync(argv);
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
  if (isClosedStreamError(error)) return 0;
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

/** The first Ctrl-C aborts the run cleanly; a second one exits at once. */
function handleInterrupts(controller: AbortController): () => void {
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(interruptExitCode(controller.signal));
    controller.abort(new Interrupt(name === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
