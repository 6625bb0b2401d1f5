import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import { FrameTimestampReader } from '../../../src/core/logs/frame-timestamps.js';
import { followFleetLogs, type LogEvent } from '../../../src/core/logs/follow-fleet-logs.js';
import { FakeClock, FakeLogSource } from './fakes.js';

/**
 * Recorded with timestamps=1 from Docker 20.10, in the engine's order: "short one" and "short two" on
 * stdout, then 10 000 "é" on one stderr line, which the engine cut into two messages of at most
 * 16 KiB (the cut falls inside a character). Each message starts with a stamp.
 */
const recorded = new Uint8Array(readFileSync(new URL('./fixtures/timestamps-long-line.bin', import.meta.url)));
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/;

async function linesFrom(chunks: Uint8Array[]): Promise<Array<Extract<LogEvent, { type: 'line' }>>> {
  const source = new FakeLogSource('demo');
  const id = source.addContainer('worker-a', 1, { state: 'exited' });
  for (const chunk of chunks) source.write(id, chunk);
  const lines: Array<Extract<LogEvent, { type: 'line' }>> = [];
  await followFleetLogs(
    { source, clock: new FakeClock(), signal: new AbortController().signal, onEvent: (event) => void (event.type === 'line' && lines.push(event)) },
    { project: 'demo', services: [], follow: false, timestamps: true },
  );
  return lines;
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.slice(offset, offset + size));
  return chunks;
}

describe('timestamps on framed log streams', () => {
  it.each([recorded.length, 16_391, 4096, 100, 7, 1])('keeps a line the engine cut into several messages whole, stamped once (chunks of %i bytes)', async (size) => {
    const lines = await linesFrom(chunked(recorded, size));
    expect(lines.map((line) => [line.stream, line.text.length > 20 ? `${line.text.length} chars` : line.text])).toEqual([
      ['stdout', 'short one'],
      ['stdout', 'short two'],
      ['stderr', '10000 chars'],
    ]);
    expect(lines[2].text).toBe('é'.repeat(10_000));
    for (const line of lines) expect(line.time).toMatch(STAMP);
  });

  it('gives each line the stamp of its first message', async () => {
    const lines = await linesFrom([
      encodeDockerFrame('stdout', '2024-05-01T10:00:01.000000001Z part a, '),
      encodeDockerFrame('stdout', '2024-05-01T10:00:02.000000002Z part b\n'),
      encodeDockerFrame('stdout', '2024-05-01T10:00:03.000000003Z next\n'),
    ]);
    expect(lines.map((line) => [line.text, line.time])).toEqual([
      ['part a, part b', '2024-05-01T10:00:01.000000001Z'],
      ['next', '2024-05-01T10:00:03.000000003Z'],
    ]);
  });

  it('takes every recorded stamp off, none left in the text', async () => {
    const text = new TextDecoder().decode(recorded);
    const stamps = [...text.matchAll(/(\d{4}-\d\d-\d\dT[\d:.]+Z) /g)].map((match) => match[1]);
    expect(stamps).toHaveLength(4);
    const lines = await linesFrom([recorded]);
    expect(lines.map((line) => line.time)).toEqual(stamps.slice(0, 3));
    for (const line of lines) expect(line.text).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });
});

describe('FrameTimestampReader', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const text = (data: Uint8Array) => new TextDecoder().decode(data);

  it('takes a stamp cut across pieces off the message', () => {
    const reader = new FrameTimestampReader();
    expect(reader.push(bytes('2024-05-01T10:00'), true)).toEqual({ data: new Uint8Array(0), stamp: undefined });
    const rest = reader.push(bytes(':00.5Z hello'), false);
    expect([text(rest.data), rest.stamp]).toEqual(['hello', '2024-05-01T10:00:00.5Z']);
    expect(text(reader.push(bytes(' world 2024-05-01T10:00:00Z'), false).data)).toBe(' world 2024-05-01T10:00:00Z');
  });

  it('hands back as text what turns out not to be a stamp', () => {
    const reader = new FrameTimestampReader();
    const read = reader.push(bytes('not-a-stamp hello'), true);
    expect([text(read.data), read.stamp]).toEqual(['not-a-stamp hello', undefined]);
    const long = reader.push(bytes('x'.repeat(60)), true);
    expect([text(long.data), long.stamp]).toEqual(['x'.repeat(60), undefined]);
  });
});
