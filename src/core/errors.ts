/**
 * Typed errors. The core throws these; the CLI's one top-level handler maps them to a
 * one-line message and an exit code. Anything else that escapes is a bug or a runtime failure.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'LIMIT_EXCEEDED'
  | 'DOCKER_UNREACHABLE'
  | 'IMAGE_MISSING'
  | 'DOCKER_FAILED'
  | 'BROKER_UNREACHABLE'
  | 'BROKER_FAILED'
  | 'THRESHOLD_FAILED'
  | 'RUN_INCOMPLETE'
  | 'ABORTED';

/**
 * Exit codes, one table for every command: 0 ok, 1 operational failure, 2 usage or configuration
 * error, 99 thresholds failed (k6's convention), 130 interrupted by SIGINT, 143 by SIGTERM.
 */
export const EXIT_CODE_OF: Record<ErrorCode, number> = {
  CONFIG_INVALID: 2,
  USAGE: 2,
  LIMIT_EXCEEDED: 2,
  DOCKER_UNREACHABLE: 1,
  IMAGE_MISSING: 2,
  DOCKER_FAILED: 1,
  BROKER_UNREACHABLE: 1,
  BROKER_FAILED: 1,
  THRESHOLD_FAILED: 99,
  // A load test that timed out with tasks still pending: an operational failure, not a threshold.
  RUN_INCOMPLETE: 1,
  ABORTED: 130,
};

export class QscaleError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'QscaleError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return EXIT_CODE_OF[this.code];
  }
}

export const configError = (message: string, hint?: string) =>
  new QscaleError('CONFIG_INVALID', message, { hint });

export const usageError = (message: string, hint?: string) => new QscaleError('USAGE', message, { hint });

export function isQscaleError(error: unknown): error is QscaleError {
  return error instanceof QscaleError;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QscaleError('ABORTED', 'interrupted');
}

/** The abort reason when a signal interrupts a command: which one decides the exit code. */
export class Interrupt extends Error {
  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super('interrupted');
    this.name = 'Interrupt';
  }

  get exitCode(): number {
    return this.signalName === 'SIGTERM' ? 143 : 130;
  }
}

/** 143 when an aborted signal's reason is a SIGTERM Interrupt, else 130. */
export function interruptExitCode(signal: AbortSignal): number {
  return signal.reason instanceof Interrupt ? signal.reason.exitCode : 130;
}
