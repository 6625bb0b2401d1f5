const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** A line longer than this is passed on in pieces of this size, so one endless line cannot exhaust memory. */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024;

/**
 * Turns a byte stream into whole lines, for one stream of one container. Text is split on bytes
 * and decoded only once a line is complete, so a multi-byte character cut across chunks stays
 * whole. A trailing "\r" (a TTY's line ending) is dropped. `flush` hands over the last line even
 * without its newline.
 */
export class LineSplitter {
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private readonly decoder = new TextDecoder();

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 4) throw new RangeError(`maxLineBytes must be an integer ≥ 4, got ${maxLineBytes}`);
  }

  push(data: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.keep(data.subarray(start), lines);
        break;
      }
      this.keep(data.subarray(start, newline), lines);
      lines.push(this.take(this.pendingLength));
      start = newline + 1;
    }
    return lines;
  }

  /** Bytes of a line begun but not finished. */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** The unfinished last line, if there is one. */
  flush(): string[] {
    return this.pendingLength > 0 ? [this.take(this.pendingLength)] : [];
  }

  private keep(bytes: Uint8Array, lines: string[]): void {
    if (bytes.length === 0) return;
    // Copy: the chunk belongs to the stream and may be large; keep only what is ours.
    this.pending.push(Uint8Array.prototype.slice.call(bytes));
    this.pendingLength += bytes.length;
    while (this.pendingLength > this.maxLineBytes) lines.push(this.take(this.maxLineBytes, true));
  }

  /** Removes `count` pending bytes and decodes them; a forced cut backs off to a character boundary. */
  private take(count: number, forced = false): string {
    const all = this.joined();
    let cut = count;
    if (forced) {
      while (cut > 0 && (all[cut] & 0xc0) === 0x80) cut--;
      if (cut === 0) cut = count;
    }
    let end = cut;
    if (!forced && end > 0 && all[end - 1] === CARRIAGE_RETURN) end--;
    const line = this.decoder.decode(all.subarray(0, end));
    const rest = all.subarray(cut);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLength = rest.length;
    return line;
  }

  private joined(): Uint8Array {
    if (this.pending.length === 1) return this.pending[0];
    const all = new Uint8Array(this.pendingLength);
    let offset = 0;
    for (const part of this.pending) {
      all.set(part, offset);
      offset += part.length;
    }
    this.pending = [all];
    return all;
  }
}
