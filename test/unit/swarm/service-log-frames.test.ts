import { describe, expect, it } from 'vitest';
import { DockerStreamDemuxer, encodeDockerFrame } from '../../../src/core/logs/demux-docker-stream.js';
import { parseDetails, ServiceLogFrameReader } from '../../../src/core/swarm/service-log-frames.js';

const text = (data: Uint8Array) => new TextDecoder().decode(data);

function read(timestamps: boolean, chunks: Uint8Array[]): string[] {
  const demuxer = new DockerStreamDemuxer(false);
  const reader = new ServiceLogFrameReader(timestamps);
  return chunks.flatMap((chunk) => demuxer.push(chunk)).flatMap((piece) => reader.push(piece)).map((part) => `${part.stream} ${part.taskId} ${part.time} ${JSON.stringify(text(part.data))}`);
}

describe('ServiceLogFrameReader', () => {
  it('takes stamp and details off each message, even when cut byte by byte', () => {
    const frame = encodeDockerFrame('stderr', '2024-05-01T10:00:00.5Z com.docker.swarm.node.id=n1,com.docker.swarm.task.id=t1 hello world\n');
    const bytes = [...frame].map((byte) => new Uint8Array([byte]));
    expect(read(true, bytes).join('')).toBe(
      [...'hello world\n'].map((char) => `stderr t1 2024-05-01T10:00:00.5Z ${JSON.stringify(char)}`).join(''),
    );
  });

  it('reads details without stamps, and a frame per task', () => {
    expect(
      read(false, [
        encodeDockerFrame('stdout', 'com.docker.swarm.task.id=t1 one\n'),
        encodeDockerFrame('stdout', 'com.docker.swarm.task.id=t2 two\n'),
      ]),
    ).toEqual(['stdout t1 undefined "one\\n"', 'stdout t2 undefined "two\\n"']);
  });

  it('passes on text that has no prefix rather than dropping it', () => {
    const long = 'x'.repeat(5000);
    expect(read(false, [encodeDockerFrame('stdout', `${long}\n`)]).join('').replace(/stdout undefined undefined /g, '').replace(/"/g, '')).toBe(`${long}\\n`);
  });

  it('decodes escaped attribute values', () => {
    expect(parseDetails('com.docker.swarm.task.id=t1,com.example.note=a+b%2Cc')).toEqual({ 'com.docker.swarm.task.id': 't1', 'com.example.note': 'a b,c' });
  });
});
