const SPACE = 0x20;
/** "2024-05-01T10:00:00.123456789+02:00" is 35 bytes; anything much longer is not a stamp. */
const MAX_STAMP_BYTES = 40;
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/**
 * Takes the engine's timestamp off the front of each log message of one stream. With timestamps
 * on, the engine prefixes every message ("<RFC 3339> ") and cuts lines longer than 16 KiB into
 * several messages, so stamps also sit inside long lines: they are found by frame, not by line.
 * A stamp may be cut across chunks; what turns out not to be one is handed back as text.
 */
export class FrameTimestampReader {
  private stamp: number[] | undefined;

  /** The message text in this piece, and the stamp that was completed in it, if any. */
  push(data: Uint8Array, frameStart: boolean): { data: Uint8Array; stamp?: string } {
    let text = data;
    let prefix: Uint8Array | undefined;
    if (frameStart) {
      prefix = this.giveUp();
      this.stamp = [];
    }
    let stamp: string | undefined;
    if (this.stamp) {
      const space = text.indexOf(SPACE);
      const end = space === -1 ? text.length : space;
      if (this.stamp.length + end > MAX_STAMP_BYTES) {
        prefix = concat(prefix, this.giveUp());
      } else if (space === -1) {
        this.stamp.push(...text);
        text = text.subarray(text.length);
      } else {
        this.stamp.push(...text.subarray(0, space));
        const held = Uint8Array.from(this.stamp);
        this.stamp = undefined;
        const candidate = String.fromCharCode(...held);
        if (STAMP.test(candidate)) {
          stamp = candidate;
          text = text.subarray(space + 1);
        } else {
          prefix = concat(prefix, held);
          text = text.subarray(space);
        }
      }
    }
    return { data: prefix ? concat(prefix, text) : text, stamp };
  }

  /** The bytes held back as a possible stamp, given back as text. */
  private giveUp(): Uint8Array | undefined {
    const held = this.stamp;
    this.stamp = undefined;
    return held && held.length > 0 ? Uint8Array.from(held) : undefined;
  }
}

function concat(first: Uint8Array | undefined, second: Uint8Array | undefined): Uint8Array {
  if (!first) return second ?? new Uint8Array(0);
  if (!second) return first;
  const all = new Uint8Array(first.length + second.length);
  all.set(first, 0);
  all.set(second, first.length);
  return all;
}
