import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../../core/duration.js';
import type { LifecycleEvent } from '../../core/logs/container-lifecycle.js';
import type { ContainerChange, EngineOutageEvent } from '../../core/logs/engine-outage.js';
import type { LogStreamName } from '../../core/logs/demux-docker-stream.js';
import { paletteSlot, type LogContainer } from '../../core/logs/log-container.js';

/** Compose's rainbow: one stable colour per container, picked by a hash of its name. */
const PALETTE = ['cyan', 'yellow', 'green', 'magenta', 'blue', 'cyanBright', 'yellowBright', 'greenBright', 'magentaBright', 'blueBright'] as const;

export interface LogLine {
  container: LogContainer;
  stream: LogStreamName;
  text: string;
  /** The engine's RFC 3339 stamp, when it sent one. */
  time?: string;
}

/**
 * Formats log lines as Compose does: "<name> | <line>", names padded to the widest seen so far, one
 * colour per container; or, for --json, one object per line. Each line is returned whole, so
 * the caller writes it in one call and lines from different containers never mix.
 */
export class LogLineRenderer {
  private width = 0;

  constructor(
    private readonly color: ChalkInstance,
    private readonly options: { timestamps: boolean; json: boolean },
  ) {}

  /** Makes room for a container's name, so the bars stay in one column. */
  widen(container: LogContainer): void {
    this.width = Math.max(this.width, container.name.length);
  }

  /** `receivedAt` stands in for the time when the engine sent none. */
  line(line: LogLine, receivedAt: number): string {
    const time = line.time ?? new Date(receivedAt).toISOString();
    if (this.options.json) {
      const { container } = line;
      return JSON.stringify({ container: container.containerName, service: container.service, number: container.number, stream: line.stream, time, message: line.text });
    }
    this.widen(line.container);
    const prefix = this.paint(line.container.name, `${line.container.name.padEnd(this.width + 1)}| `);
    return `${prefix}${this.options.timestamps ? `${time} ` : ''}${line.text}`;
  }

  /** How `logs` announces a container arriving or going, on stderr. */
  notice(container: LogContainer, what: string): string {
    return `${this.paint(container.name, container.name)} ${this.color.dim(what)}`;
  }

  private paint(name: string, text: string): string {
    return this.color[PALETTE[paletteSlot(name, PALETTE.length)]](text);
  }
}

/** What a lifecycle event says to an operator: "died (exit code 137)". */
export function describeLifecycle(event: LifecycleEvent): string {
  switch (event.kind) {
    case 'died':
      return event.exitCode === undefined ? 'died' : `died (exit code ${event.exitCode})`;
    case 'health':
      return `is ${event.health}`;
    default:
      return event.kind;
  }
}

/** One line of `qscale events`: the time, the container, what happened; or a JSON object. */
export function renderLifecycle(color: ChalkInstance, event: LifecycleEvent, json: boolean): string {
  const time = new Date(event.time).toISOString();
  const { container } = event;
  if (json) {
    return JSON.stringify({
      time,
      event: event.kind,
      container: container.containerName,
      service: container.service,
      number: container.number,
      id: container.id,
      ...(event.exitCode === undefined ? {} : { exitCode: event.exitCode }),
      ...(event.health === undefined ? {} : { health: event.health }),
    });
  }
  const what = describeLifecycle(event);
  const painted =
    event.kind === 'died' && event.exitCode !== 0
      ? color.red(what)
      : event.kind === 'health' && event.health === 'unhealthy'
        ? color.red(what)
        : event.kind === 'started' || (event.kind === 'health' && event.health === 'healthy')
          ? color.green(what)
          : what;
  return `${color.dim(time)}  ${container.name}  ${painted}`;
}

/**
 * The one line a streaming command prints when the engine goes away, and the one when it is back:
 * "the Docker engine is back after 6.2s; meanwhile: worker-a-1 running → exited".
 */
export function renderEngineOutage(event: EngineOutageEvent): string {
  if (event.type === 'engine-lost') return `the Docker engine went away (${event.reason}); waiting for it to come back`;
  const changes = event.changes?.length ? `; meanwhile: ${event.changes.map(describeChange).join(', ')}` : '';
  return `the Docker engine is back after ${formatDuration(event.gapMs)}${changes}`;
}

function describeChange(change: ContainerChange): string {
  const { name } = change.container;
  if (change.after === undefined) return `${name} removed`;
  if (change.before === undefined) return `${name} new (${change.after})`;
  return `${name} ${change.before} → ${change.after}`;
}
