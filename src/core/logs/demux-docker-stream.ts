/** Which output of the container a piece of log text came from. */
export type LogStreamName = 'stdout' | 'stderr';

export interface LogPiece {
  stream: LogStreamName;
  data: Uint8Array;
  /** This piece starts a frame, that is one engine log message (where a timestamp goes, when asked for). */
  frameStart?: boolean;
}

const HEADER_BYTES = 8;

/**
 * Splits Docker's multiplexed log stream into stdout and stderr pieces. Each frame is an 8-byte
 * header (stream type; three zero bytes; payload length, uint32 big-endian) and its payload; frames
 * and headers may be cut anywhere across chunks. A payload is passed on as it arrives rather than
 * collected whole, so a huge frame costs no more memory than the chunks it comes in.
 *
 * A TTY container's stream has no headers: it is all stdout. A header that cannot be one (as when
 * a TTY is misreported) switches the rest of the stream to raw stdout rather than dropping text.
 */
export class DockerStreamDemuxer {
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private payloadLeft = 0;
  private current: LogStreamName = 'stdout';
  private atFrameStart = false;
  private raw: boolean;

  constructor(tty: boolean) {
    this.raw = tty;
  }

  /** True once the stream turned out not to be multiplexed after all. */
  get fellBackToRaw(): boolean {
    return this.raw;
  }

  /** True when the stream stopped inside a frame (a header or payload cut short). */
  get truncated(): boolean {
    return !this.raw && (this.headerFill > 0 || this.payloadLeft > 0);
  }

  push(chunk: Uint8Array): LogPiece[] {
    if (this.raw) return chunk.length > 0 ? [{ stream: 'stdout', data: chunk }] : [];
    const pieces: LogPiece[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - offset);
        pieces.push(this.atFrameStart ? { stream: this.current, data: chunk.subarray(offset, offset + take), frameStart: true } : { stream: this.current, data: chunk.subarray(offset, offset + take) });
        this.atFrameStart = false;
        this.payloadLeft -= take;
        offset += take;
        continue;
      }
      const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
      this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
      this.headerFill += take;
      offset += take;
      if (this.headerFill < HEADER_BYTES) break;
      this.headerFill = 0;
      const stream = streamOfHeader(this.header);
      if (stream === undefined) {
        this.raw = true;
        const rest = new Uint8Array(HEADER_BYTES + chunk.length - offset);
        rest.set(this.header, 0);
        rest.set(chunk.subarray(offset), HEADER_BYTES);
        pieces.push({ stream: 'stdout', data: rest });
        return pieces;
      }
      this.current = stream;
      this.atFrameStart = true;
      this.payloadLeft = new DataView(this.header.buffer, this.header.byteOffset, HEADER_BYTES).getUint32(4, false);
    }
    return pieces;
  }
}

/** 0 is stdin (echoed as stdout), 1 stdout, 2 stderr, 3 the engine's own error text. */
function streamOfHeader(header: Uint8Array): LogStreamName | undefined {
  if (header[1] !== 0 || header[2] !== 0 || header[3] !== 0) return undefined;
  if (header[0] === 0 || header[0] === 1) return 'stdout';
  if (header[0] === 2 || header[0] === 3) return 'stderr';
  return undefined;
}

/** Encodes one frame the way the engine does; for tests and fakes. */
export function encodeDockerFrame(stream: LogStreamName, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(HEADER_BYTES + body.length);
  frame[0] = stream === 'stdout' ? 1 : 2;
  new DataView(frame.buffer).setUint32(4, body.length, false);
  frame.set(body, HEADER_BYTES);
  return frame;
}
