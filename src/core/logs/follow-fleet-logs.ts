import type { Clock } from '../clock.js';
import { projectFilter } from '../compose-labels.js';
import type { ContainerEvent, ContainerLogSource, LogRequest } from '../ports/container-logs.js';
import type { ContainerSummary } from '../ports/container-engine.js';
import { inServices, lifecycleEventOf, type LifecycleEvent } from './container-lifecycle.js';
import { EngineOutage, type EngineOutageEvent } from './engine-outage.js';
import { DockerStreamDemuxer, type LogStreamName } from './demux-docker-stream.js';
import { logContainerOf, type LogContainer } from './log-container.js';
import { FrameTimestampReader } from './frame-timestamps.js';
import { LineSplitter } from './split-lines.js';
import { sinceAfter } from './since-after.js';

/** What following logs reports. The core never prints; the CLI renders these. */
export type LogEvent =
  | { type: 'line'; container: LogContainer; stream: LogStreamName; text: string; /** the engine's RFC 3339 stamp, when timestamps were asked for */ time?: string }
  | { type: 'attached'; container: LogContainer }
  | { type: 'detached'; container: LogContainer }
  /** A container died (with its exit code) or was removed. */
  | { type: 'lifecycle'; event: LifecycleEvent }
  | { type: 'warning'; container?: LogContainer; message: string }
  /** The engine went away (once per outage), or is back (with the gap's length). */
  | EngineOutageEvent;

/**
 * Receives every event in order. Returning a promise pauses the container that produced the
 * event until it settles: that is how a slow terminal slows the Docker streams instead of
 * filling memory.
 */
export type LogSink = (event: LogEvent) => void | Promise<void>;

export interface FollowLogsDependencies {
  source: ContainerLogSource;
  clock: Clock;
  /** Aborting it (Ctrl-C) detaches from everything and ends the follow. */
  signal: AbortSignal;
  onEvent: LogSink;
}

export interface FollowLogsOptions {
  project: string;
  /** Only these compose services; empty means all. */
  services: readonly string[];
  /** Keep following, attaching containers that start later, until the signal aborts. */
  follow: boolean;
  /** Lines of existing output per container at the start; undefined means all. */
  tail?: number;
  sinceSeconds?: number;
  /** Parse the engine's timestamp off each line into `time`. */
  timestamps: boolean;
  /** How often the container list is re-read, in case an engine event was missed. */
  relistEveryMs?: number;
  maxLineBytes?: number;
}

export const DEFAULT_RELIST_MS = 1000;
/** Wait before re-subscribing when the engine's event stream broke. */
const RESUBSCRIBE_MS = 1000;

/**
 * Prints the logs of a project's containers: once, or (follow) live, attaching to containers
 * that start later (from engine events, with a periodic re-list as a safety net) and detaching
 * from those that die or are removed.
 */
export async function followFleetLogs(deps: FollowLogsDependencies, options: FollowLogsOptions): Promise<void> {
  const follower = new FleetLogFollower(deps, options);
  await (options.follow ? follower.follow() : follower.once());
}

interface Attachment {
  container: LogContainer;
  controller: AbortController;
  done: Promise<void>;
  /** A death reported while the stream was still draining: announced after its last lines. */
  died?: LifecycleEvent;
  /** Its removal, likewise: after the death and the detach, as it happened. */
  removed?: LifecycleEvent;
}

const TIMESTAMP_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ?/;

/** One stream of one container: its line splitter, its stamp reader, and the time of the line being read. */
class StreamLines {
  readonly splitter: LineSplitter;
  readonly stamps = new FrameTimestampReader();
  time?: string;

  constructor(maxLineBytes?: number) {
    this.splitter = new LineSplitter(maxLineBytes);
  }
}

class FleetLogFollower {
  private readonly attachments = new Map<string, Attachment>();
  /** When our last stream of a container ended, in seconds: a restarted container resumes from there, not from the top. */
  private readonly endedAt = new Map<string, number>();
  private readonly run = new AbortController();
  private readonly outage = new EngineOutage();

  constructor(
    private readonly deps: FollowLogsDependencies,
    private readonly options: FollowLogsOptions,
  ) {}

  async once(): Promise<void> {
    const { signal } = this.deps;
    const stop = () => this.run.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const containers = await this.list();
      for (const container of containers) this.attach(container, this.initialRequest());
      await Promise.all([...this.attachments.values()].map((attachment) => attachment.done));
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  async follow(): Promise<void> {
    const { signal, clock } = this.deps;
    if (signal.aborted) return;
    const stop = () => this.run.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const loops: Promise<void>[] = [];
    try {
      // Events from before the listing are asked for too, so a container started in between is not missed.
      const listedAt = clock.now() / 1000;
      const containers = await this.list();
      for (const container of containers) this.attach(container, this.initialRequest());
      loops.push(this.watchEvents(listedAt), this.relistPeriodically());
      await new Promise<void>((resolve) => {
        if (this.run.signal.aborted) resolve();
        else this.run.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      this.run.abort();
      signal.removeEventListener('abort', stop);
      await Promise.allSettled([...this.attachments.values()].map((attachment) => attachment.done));
      await Promise.allSettled(loops);
    }
  }

  private async list(): Promise<ContainerSummary[]> {
    const listed = await this.deps.source.listContainers(projectFilter(this.options.project));
    return listed
      .filter((container) => inServices(container.labels, this.options.services))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  }

  private initialRequest(): LogRequest {
    const { follow, tail, sinceSeconds, timestamps } = this.options;
    return { follow, tail, sinceSeconds, timestamps };
  }

  /** A container seen after the start: all it printed (it is new), or only what follows our last look at it (a restart). */
  private lateRequest(id: string): LogRequest {
    return { follow: true, sinceSeconds: this.endedAt.get(id) ?? this.options.sinceSeconds, timestamps: this.options.timestamps };
  }

  private attach(summary: { id: string; name: string; labels: Record<string, string> }, request: LogRequest): void {
    if (this.attachments.has(summary.id) || this.run.signal.aborted) return;
    const container = logContainerOf(summary);
    const controller = new AbortController();
    const stop = () => controller.abort();
    this.run.signal.addEventListener('abort', stop, { once: true });
    const attachment: Attachment = { container, controller, done: Promise.resolve() };
    this.attachments.set(container.id, attachment);
    attachment.done = (async () => {
      try {
        await this.emit({ type: 'attached', container });
        await this.pump(container, request, controller.signal);
      } catch (error) {
        if (!controller.signal.aborted) await this.emit({ type: 'warning', container, message: `lost the log stream of ${container.name}: ${messageOf(error)}` });
      } finally {
        this.run.signal.removeEventListener('abort', stop);
        this.attachments.delete(container.id);
        this.endedAt.set(container.id, this.deps.clock.now() / 1000);
        if (attachment.died) await this.emit({ type: 'lifecycle', event: attachment.died });
        if (!this.run.signal.aborted) await this.emit({ type: 'detached', container });
        if (attachment.removed) await this.emit({ type: 'lifecycle', event: attachment.removed });
      }
    })();
  }

  /** Copies one container's stream to the sink, line by line, one stream at a time. */
  private async pump(container: LogContainer, request: LogRequest, signal: AbortSignal): Promise<void> {
    const opened = await this.deps.source.openLogs(container.id, request, signal);
    if (!opened) return;
    const demuxer = new DockerStreamDemuxer(opened.tty);
    const streams = {
      stdout: new StreamLines(this.options.maxLineBytes),
      stderr: new StreamLines(this.options.maxLineBytes),
    };
    // Framed messages carry their stamp at the frame start (long lines span several); a raw TTY stream only at line starts.
    const stampsByFrame = request.timestamps && !opened.tty;
    try {
      for await (const chunk of opened.chunks) {
        for (const piece of demuxer.push(chunk)) {
          const lines = streams[piece.stream];
          let data = piece.data;
          if (stampsByFrame && !demuxer.fellBackToRaw) {
            const read = lines.stamps.push(data, Boolean(piece.frameStart));
            if (read.stamp && lines.splitter.pendingBytes === 0) lines.time = read.stamp;
            data = read.data;
          }
          for (const text of lines.splitter.push(data)) await this.emitLine(container, piece.stream, text, lines.time, request.timestamps && !stampsByFrame);
        }
      }
    } finally {
      // A cut-off stream still hands over its last, unfinished lines.
      for (const stream of ['stdout', 'stderr'] as const) {
        for (const text of streams[stream].splitter.flush()) await this.emitLine(container, stream, text, streams[stream].time, request.timestamps && !stampsByFrame);
      }
    }
  }

  private async emitLine(container: LogContainer, stream: LogStreamName, line: string, time: string | undefined, stampAtLineStart: boolean): Promise<void> {
    const stamp = stampAtLineStart ? TIMESTAMP_PREFIX.exec(line) : null;
    if (stamp) return this.emit({ type: 'line', container, stream, text: line.slice(stamp[0].length), time: stamp[1] });
    return this.emit(time === undefined ? { type: 'line', container, stream, text: line } : { type: 'line', container, stream, text: line, time });
  }

  private async emit(event: LogEvent): Promise<void> {
    const pending = this.deps.onEvent(event);
    if (pending) await pending;
  }

  private async watchEvents(sinceSeconds: number): Promise<void> {
    let since = sinceSeconds;
    while (!this.run.signal.aborted) {
      try {
        for await (const event of this.deps.source.containerEvents(projectFilter(this.options.project), { sinceSeconds: since }, this.run.signal)) {
          if (this.run.signal.aborted) return;
          // Re-subscribing starts just after the last event handled, so none is reported twice.
          since = sinceAfter(event);
          await this.onEngineEvent(event);
        }
      } catch {
        // Whether the engine is gone or only closed the stream, the listing below tells.
      }
      if (this.run.signal.aborted) return;
      const brokeAt = this.deps.clock.now();
      if (!(await this.waitForEngine(brokeAt))) return;
    }
  }

  /**
   * After the event stream broke: asks the engine until it answers. An outage is reported once
   * when it starts and once when it ends (with its length), however long it lasts.
   */
  private async waitForEngine(brokeAt: number): Promise<boolean> {
    for (;;) {
      if (!(await this.pause(RESUBSCRIBE_MS))) return false;
      try {
        await this.list();
      } catch (error) {
        if (this.run.signal.aborted) return false;
        const lost = this.outage.failed(this.deps.clock.now(), error, brokeAt);
        if (lost) await this.emit(lost);
        continue;
      }
      const back = this.outage.answered(this.deps.clock.now());
      if (back) await this.emit(back);
      return true;
    }
  }

  private async onEngineEvent(event: ContainerEvent): Promise<void> {
    if (!inServices(event.attributes, this.options.services)) return;
    const lifecycle = lifecycleEventOf(event);
    if (!lifecycle) return;
    const { id } = lifecycle.container;
    if (lifecycle.kind === 'started') {
      this.attach({ id, name: event.attributes.name ?? '', labels: event.attributes }, this.lateRequest(id));
    } else if (lifecycle.kind === 'died') {
      const attachment = this.attachments.get(id);
      if (attachment) attachment.died = lifecycle;
      else await this.emit({ type: 'lifecycle', event: lifecycle });
    } else if (lifecycle.kind === 'removed') {
      const attachment = this.attachments.get(id);
      this.endedAt.delete(id);
      if (attachment) {
        attachment.removed = lifecycle;
        attachment.controller.abort();
      } else await this.emit({ type: 'lifecycle', event: lifecycle });
    }
  }

  /** The safety net: attach running containers no event told us about; drop streams of containers that are gone. */
  private async relistPeriodically(): Promise<void> {
    const every = this.options.relistEveryMs ?? DEFAULT_RELIST_MS;
    while (await this.pause(every)) {
      let listed: ContainerSummary[];
      try {
        listed = await this.list();
      } catch {
        continue; // the event stream or the next round will tell
      }
      if (this.run.signal.aborted) return;
      const present = new Set(listed.map((container) => container.id));
      for (const container of listed) {
        if (container.state === 'running') this.attach(container, this.lateRequest(container.id));
      }
      for (const [id, attachment] of this.attachments) {
        if (!present.has(id)) {
          attachment.controller.abort();
          this.endedAt.delete(id);
        }
      }
    }
  }

  /** Waits on the clock; false when the run was aborted meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await this.deps.clock.sleep(ms, this.run.signal);
    } catch {
      return false;
    }
    return !this.run.signal.aborted;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
