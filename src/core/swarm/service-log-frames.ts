import { SWARM_TASK_ID_ATTRIBUTE } from '../compose-labels.js';
import type { LogPiece, LogStreamName } from '../logs/demux-docker-stream.js';

const SPACE = 0x20;
/** A prefix (stamp and details) longer than this is not one; the frame is passed on as text. */
const MAX_PREFIX_BYTES = 4096;

/** Message text of one task, with the engine's stamp when one was asked for. */
export interface TaskLogPiece {
  stream: LogStreamName;
  /** Undefined when the message named no task (the prefix could not be read). */
  taskId?: string;
  time?: string;
  data: Uint8Array;
}

/**
 * Reads the prefix a Swarm service's log messages carry when `details` is asked for:
 * "[<RFC 3339 stamp> ]<k=v,k=v,...> <message>", one prefix per frame (one frame is one message
 * of one task). The prefix may be cut across chunks; it is collected before the text is passed on.
 */
export class ServiceLogFrameReader {
  private prefix: number[] | undefined;
  private spacesLeft = 0;
  private current: { stream: LogStreamName; taskId?: string; time?: string } | undefined;

  constructor(private readonly timestamps: boolean) {}

  push(piece: LogPiece): TaskLogPiece[] {
    const out: TaskLogPiece[] = [];
    let data = piece.data;
    if (piece.frameStart) {
      if (this.prefix) out.push(...this.giveUp());
      this.prefix = [];
      this.spacesLeft = this.timestamps ? 2 : 1;
      this.current = { stream: piece.stream };
    }
    if (this.prefix) {
      let index = 0;
      while (index < data.length) {
        const byte = data[index++];
        if (byte === SPACE && --this.spacesLeft === 0) break;
        this.prefix.push(byte);
      }
      if (this.spacesLeft > 0) {
        if (this.prefix.length > MAX_PREFIX_BYTES) out.push(...this.giveUp());
        return out;
      }
      this.current = { stream: piece.stream, ...parsePrefix(new TextDecoder().decode(new Uint8Array(this.prefix)), this.timestamps) };
      this.prefix = undefined;
      data = data.subarray(index);
    }
    if (data.length > 0) out.push({ ...(this.current ?? { stream: piece.stream }), data });
    return out;
  }

  /** What was taken for a prefix is text after all. */
  private giveUp(): TaskLogPiece[] {
    const bytes = new Uint8Array(this.prefix ?? []);
    this.prefix = undefined;
    return bytes.length > 0 ? [{ stream: this.current?.stream ?? 'stdout', data: bytes }] : [];
  }
}

function parsePrefix(prefix: string, timestamps: boolean): { taskId?: string; time?: string } {
  let details = prefix;
  let time: string | undefined;
  if (timestamps) {
    const space = prefix.indexOf(' ');
    time = prefix.slice(0, space);
    details = prefix.slice(space + 1);
  }
  const attributes = parseDetails(details);
  return { taskId: attributes[SWARM_TASK_ID_ATTRIBUTE], time };
}

/** "k=v,k=v", keys and values query-escaped by the engine. */
export function parseDetails(details: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of details.split(',')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    attributes[unescape(pair.slice(0, eq))] = unescape(pair.slice(eq + 1));
  }
  return attributes;
}

function unescape(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
