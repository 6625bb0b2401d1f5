import { writeFileSync } from 'node:fs';

export const HEARTBEAT_INTERVAL_MS = 5_000;
/** The compose healthcheck calls a heartbeat older than this stale. */
export const HEARTBEAT_STALE_MS = 30_000;

/**
 * Touches a file while the worker is connected and consuming. Workers use host networking, so a
 * health port would collide between replicas; the healthcheck reads the file's age instead.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly onError: (error: Error) => void,
    private readonly write: (file: string, text: string) => void = writeFileSync,
    private readonly intervalMs = HEARTBEAT_INTERVAL_MS,
  ) {}

  start(): void {
    this.stop();
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    try {
      this.write(this.file, `${Date.now()}\n`);
    } catch (error) {
      this.onError(error as Error);
    }
  }
}

/** The healthcheck's program, for `node -e`: exit 0 when the heartbeat file is fresh. No `$`: Compose would interpolate it. */
export const HEALTHCHECK_SCRIPT = `const s=require('fs').statSync('/tmp/qscale-heartbeat');process.exit(Date.now()-s.mtimeMs<${HEARTBEAT_STALE_MS}?0:1)`;
