import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DockerStreamDemuxer, encodeDockerFrame, type LogStreamName } from '../../../src/core/logs/demux-docker-stream.js';
import { LineSplitter } from '../../../src/core/logs/split-lines.js';

/** Recorded from Docker 20.10's /containers/{id}/logs: a non-TTY and a TTY container writing to stdout and stderr. */
const multiplexed = new Uint8Array(readFileSync(new URL('./fixtures/multiplexed.bin', import.meta.url)));
const ttyRaw = new Uint8Array(readFileSync(new URL('./fixtures/tty-raw.bin', import.meta.url)));

/** Runs chunks through a demuxer and one splitter per stream, as the follower does. */
function linesOf(chunks: Uint8Array[], tty: boolean, maxLineBytes?: number): Record<LogStreamName, string[]> {
  const demuxer = new DockerStreamDemuxer(tty);
  const splitters = { stdout: new LineSplitter(maxLineBytes), stderr: new LineSplitter(maxLineBytes) };
  const lines: Record<LogStreamName, string[]> = { stdout: [], stderr: [] };
  for (const chunk of chunks) {
    for (const piece of demuxer.push(chunk)) lines[piece.stream].push(...splitters[piece.stream].push(piece.data));
  }
  lines.stdout.push(...splitters.stdout.flush());
  lines.stderr.push(...splitters.stderr.flush());
  return lines;
}

function cutAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, index) => bytes.slice(bounds[index], end));
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.slice(offset, offset + size));
  return chunks;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

const recordedLines = {
  stdout: ['hello from stdout', 'second line', 'no newline at end'],
  stderr: ['warn: café on stderr'],
};

describe('DockerStreamDemuxer on a recorded multiplexed stream', () => {
  it('separates stdout from stderr when the stream comes in one chunk', () => {
    expect(linesOf([multiplexed], false)).toEqual(recordedLines);
  });

  it('gives the same lines wherever the stream is cut in two', () => {
    for (let cut = 0; cut <= multiplexed.length; cut++) {
      expect(linesOf(cutAt(multiplexed, cut), false), `cut at byte ${cut}`).toEqual(recordedLines);
    }
  });

  it('gives the same lines when every byte is its own chunk', () => {
    expect(linesOf(chunked(multiplexed, 1), false)).toEqual(recordedLines);
  });

  it('gives the same lines for every pair of cuts', () => {
    for (let first = 1; first < multiplexed.length; first += 3) {
      for (let second = first; second < multiplexed.length; second += 5) {
        expect(linesOf(cutAt(multiplexed, first, second), false), `cuts at ${first} and ${second}`).toEqual(recordedLines);
      }
    }
  });

  it('says when the stream stopped inside a frame', () => {
    const demuxer = new DockerStreamDemuxer(false);
    demuxer.push(multiplexed.slice(0, 12));
    expect(demuxer.truncated).toBe(true);
    demuxer.push(multiplexed.slice(12));
    expect(demuxer.truncated).toBe(false);
  });
});

describe('DockerStreamDemuxer on a TTY stream', () => {
  it('passes a recorded raw stream through as stdout, without looking for headers', () => {
    expect(linesOf([ttyRaw], true)).toEqual({ stdout: ['tty line one', 'tty to stderr', 'tail without newline'], stderr: [] });
  });

  it('does not take text that looks like a header for one', () => {
    const looksLikeHeader = concat(encodeDockerFrame('stderr', 'x'), new TextEncoder().encode('\n'));
    const pieces = new DockerStreamDemuxer(true).push(looksLikeHeader);
    expect(pieces).toEqual([{ stream: 'stdout', data: looksLikeHeader }]);
  });
});

describe('DockerStreamDemuxer on large and odd input', () => {
  it('carries a 1 MiB payload through in pieces no bigger than the chunks it arrived in', () => {
    const payload = new Uint8Array(1024 * 1024 + 1).fill(0x61);
    payload[payload.length - 1] = 0x0a;
    const stream = concat(encodeDockerFrame('stdout', payload), encodeDockerFrame('stderr', 'after\n'));
    const demuxer = new DockerStreamDemuxer(false);
    let stdoutBytes = 0;
    let largestPiece = 0;
    const stderr: string[] = [];
    for (const chunk of chunked(stream, 7777)) {
      for (const piece of demuxer.push(chunk)) {
        largestPiece = Math.max(largestPiece, piece.data.length);
        if (piece.stream === 'stdout') stdoutBytes += piece.data.length;
        else stderr.push(new TextDecoder().decode(piece.data));
      }
    }
    expect(stdoutBytes).toBe(payload.length);
    expect(largestPiece).toBeLessThanOrEqual(7777);
    expect(stderr.join('')).toBe('after\n');
  });

  it('keeps a 1 MiB line whole in content, handed over in bounded pieces', () => {
    const text = 'é'.repeat(512 * 1024); // 1 MiB of two-byte characters
    const lines = linesOf(chunked(encodeDockerFrame('stdout', `${text}\nnext\n`), 65536), false, 256 * 1024);
    expect(lines.stdout.slice(0, -1).join('')).toBe(text);
    expect(lines.stdout.at(-1)).toBe('next');
    for (const piece of lines.stdout) expect(new TextEncoder().encode(piece).length).toBeLessThanOrEqual(256 * 1024);
  });

  it('treats stream type 0 (stdin) as stdout and 3 (engine error) as stderr', () => {
    const frame = (type: number, text: string) => {
      const bytes = encodeDockerFrame('stdout', text);
      bytes[0] = type;
      return bytes;
    };
    expect(linesOf([concat(frame(0, 'in\n'), frame(3, 'engine\n'))], false)).toEqual({ stdout: ['in'], stderr: ['engine'] });
  });

  it('falls back to raw stdout instead of dropping text when a header is impossible', () => {
    const demuxer = new DockerStreamDemuxer(false);
    expect(linesOf([new TextEncoder().encode('plain text, no frames\n')], false)).toEqual({ stdout: ['plain text, no frames'], stderr: [] });
    demuxer.push(new TextEncoder().encode('plain text'));
    expect(demuxer.fellBackToRaw).toBe(true);
  });

  it('accepts empty frames and empty chunks', () => {
    expect(linesOf([new Uint8Array(0), encodeDockerFrame('stderr', ''), new Uint8Array(0), encodeDockerFrame('stdout', 'x\n')], false)).toEqual({ stdout: ['x'], stderr: [] });
  });
});
