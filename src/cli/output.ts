import { Chalk, type ChalkInstance } from 'chalk';
import { maskUrlPasswords } from '../core/secrets.js';
import type { OutputStream } from './dependencies.js';

/** The only thing that writes to the terminal. Secrets are masked on the way out. */
export class Output {
  readonly color: ChalkInstance;
  readonly interactive: boolean;

  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    options: { color: boolean },
  ) {
    this.interactive = Boolean(stdout.isTTY);
    this.color = new Chalk({ level: options.color ? 1 : 0 });
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
    this.stdout.write(`${maskUrlPasswords(text)}\n`);
  }

  raw(text: string): void {
    this.stdout.write(maskUrlPasswords(text));
  }

  json(value: unknown): void {
    this.stdout.write(`${maskUrlPasswords(JSON.stringify(value, null, 2))}\n`);
  }

  /** Progress and notices go to stderr, so stdout stays clean for --json. */
  info(text: string): void {
    this.stderr.write(`${maskUrlPasswords(text)}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`${this.color.yellow('warning:')} ${maskUrlPasswords(text)}\n`);
  }

  error(text: string): void {
    this.stderr.write(`${this.color.red('error:')} ${maskUrlPasswords(text)}\n`);
  }
}
