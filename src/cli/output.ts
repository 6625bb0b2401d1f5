import { Chalk, type ChalkInstance } from 'chalk';
import { maskUrlPasswords } from '../core/secrets.js';
import type { OutputStream } from './dependencies.js';

/**
 * Errors that mean the reader of a stream went away (`qscale logs -f | head`): not a failure of
 * ours. Writes that fail this way are dropped, as `docker logs -f | head` drops them.
 */
const CLOSED_STREAM_CODES = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export function isClosedStreamError(error: unknown): boolean {
  return CLOSED_STREAM_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** What is known about one stream: whether its reader is gone. Shared by every Output on it. */
class StreamState {
  readonly closed = new AbortController();

  constructor(stream: OutputStream) {
    // A pipe reports a closed reader asynchronously, as an 'error' event: unheard, it would crash the process with a stack trace.
    const emitter = stream as OutputStream & { on?: (event: string, listener: (error: unknown) => void) => unknown };
    if (typeof emitter.on === 'function') {
      // Any error destroys the stream, so nothing more can be written to it either way.
      emitter.on('error', () => this.markClosed());
    }
  }

  markClosed(): void {
    if (!this.closed.signal.aborted) this.closed.abort(new StreamClosed());
  }

  write(stream: OutputStream, text: string): void {
    if (this.closed.signal.aborted) return;
    try {
      stream.write(text);
    } catch (error) {
      if (!isClosedStreamError(error)) throw error;
      this.markClosed();
    }
  }
}

/** The abort reason of `closedSignalOf`: the reader left, nobody interrupted us. */
export class StreamClosed extends Error {
  constructor() {
    super('the output stream was closed by its reader');
    this.name = 'StreamClosed';
  }
}

const streamStates = new WeakMap<OutputStream, StreamState>();

function stateOf(stream: OutputStream): StreamState {
  let state = streamStates.get(stream);
  if (!state) {
    state = new StreamState(stream);
    streamStates.set(stream, state);
  }
  return state;
}

/** Writes text to a stream unless its reader is gone; a closed reader is remembered, never thrown. */
export function writeTo(stream: OutputStream, text: string): void {
  stateOf(stream).write(stream, text);
}

/**
 * Aborted once the stream's reader is gone (EPIPE). Commands whose only job is printing
 * (`logs -f`, `events`, `status --watch`) end on it with exit 0; the autoscaler carries on.
 */
export function closedSignalOf(stream: OutputStream): AbortSignal {
  return stateOf(stream).closed.signal;
}

/** The run's signal, also aborted when stdout's reader goes away: for commands that only print. */
export function untilInterruptedOrClosed(signal: AbortSignal, stdout: OutputStream): AbortSignal {
  return AbortSignal.any([signal, closedSignalOf(stdout)]);
}

/** SGR sequences (colours, bold): what chalk writes. */
const SGR = /\x1b\[[0-9;]*m/g;

/** The only thing that writes to the terminal. Secrets are masked on the way out. */
export class Output {
  readonly color: ChalkInstance;
  readonly interactive: boolean;
  /** Whether stderr takes colour; text coloured for stdout loses it on its way to a piped stderr. */
  private readonly stderrColor: boolean;

  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    options: { color: boolean; stderrColor?: boolean },
  ) {
    this.interactive = Boolean(stdout.isTTY);
    this.color = new Chalk({ level: options.color ? 1 : 0 });
    this.stderrColor = options.stderrColor ?? options.color;
    stateOf(stdout);
    stateOf(stderr);
  }

  /** True once stdout's reader has gone away (`| head`); what is printed after is dropped. */
  get stdoutClosed(): boolean {
    return closedSignalOf(this.stdout).aborted;
  }

  /** Aborted when stdout's reader goes away. */
  get stdoutClosedSignal(): AbortSignal {
    return closedSignalOf(this.stdout);
  }

  /** Colour only on a terminal, never with NO_COLOR or --no-color; FORCE_COLOR wins. */
  static colorWanted(stdout: OutputStream, env: NodeJS.ProcessEnv, flag: boolean): boolean {
    if (!flag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
    if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
    return Boolean(stdout.isTTY) && env.TERM !== 'dumb';
  }

  /**
   * The progress stream (stderr), for a progress-bar library that draws on it itself. Only
   * counts are drawn there, never text that could hold a secret.
   */
  get progressStream(): OutputStream {
    return this.stderr;
  }

  get columns(): number {
    return this.stdout.columns ?? 120;
  }

  line(text = ''): void {
    writeTo(this.stdout, `${maskUrlPasswords(text)}\n`);
  }

  raw(text: string): void {
    writeTo(this.stdout, maskUrlPasswords(text));
  }

  json(value: unknown): void {
    writeTo(this.stdout, `${maskUrlPasswords(JSON.stringify(value, null, 2))}\n`);
  }

  /** Progress and notices go to stderr, so stdout stays clean for --json. */
  info(text: string): void {
    this.toStderr(`${maskUrlPasswords(text)}\n`);
  }

  warn(text: string): void {
    this.toStderr(`${this.color.yellow('warning:')} ${maskUrlPasswords(text)}\n`);
  }

  error(text: string): void {
    this.toStderr(`${this.color.red('error:')} ${maskUrlPasswords(text)}\n`);
  }

  private toStderr(text: string): void {
    writeTo(this.stderr, this.stderrColor ? text : text.replace(SGR, ''));
  }
}
