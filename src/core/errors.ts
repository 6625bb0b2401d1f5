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
  | 'ABORTED';

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 130 interrupted. */
export const EXIT_CODE_OF: Record<ErrorCode, number> = {
  CONFIG_INVALID: 2,
  USAGE: 2,
  LIMIT_EXCEEDED: 2,
  DOCKER_UNREACHABLE: 1,
  IMAGE_MISSING: 1,
  DOCKER_FAILED: 1,
  BROKER_UNREACHABLE: 1,
  BROKER_FAILED: 1,
  THRESHOLD_FAILED: 1,
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
