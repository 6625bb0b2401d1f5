import type { ContainerEngine } from './container-engine.js';

/** Which part of a container's log history to read. */
export interface LogRequest {
  /** Keep the stream open and deliver new output until the container stops. */
  follow: boolean;
  /** Only the last N lines of what is already there; undefined means all. */
  tail?: number;
  /** Only output after this moment, in seconds since the epoch (fractions allowed). */
  sinceSeconds?: number;
  /** Ask the engine to prefix every line with its RFC 3339 time and a space. */
  timestamps: boolean;
}

/**
 * A container's log output exactly as the engine sends it: Docker's multiplexed frames (8-byte
 * headers) unless the container has a TTY, in which case it is one raw stream.
 */
export interface ContainerLogStream {
  tty: boolean;
  chunks: AsyncIterable<Uint8Array>;
}

/** One container event as the engine reports it ("create", "start", "die", "health_status: healthy", ...). */
export interface ContainerEvent {
  id: string;
  action: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** The container's labels plus the engine's own attributes (name, image, exitCode). */
  attributes: Record<string, string>;
}

/** What log following needs from a container engine, beyond listing containers. */
export interface ContainerLogSource extends Pick<ContainerEngine, 'listContainers'> {
  /** Opens a container's log stream; undefined when the container does not exist (any more). Aborting `signal` ends the stream. */
  openLogs(id: string, request: LogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined>;
  /**
   * Container events for containers carrying every one of the `key=value` labels, from `sinceSeconds`
   * (so nothing between a listing and the subscription is lost) until `signal` aborts.
   */
  containerEvents(labelFilters: string[], options: { sinceSeconds?: number }, signal: AbortSignal): AsyncIterable<ContainerEvent>;
}
