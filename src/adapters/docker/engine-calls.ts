import type { Readable } from 'node:stream';
import { QscaleError } from '../../core/errors.js';

/** What the Docker adapters share: error mapping and stream handling for Engine API calls. */

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** Runs one API call, turning "cannot connect" into one clear error naming the endpoint. */
export async function callEngine<T>(endpoint: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code && UNREACHABLE_CODES.has(code) && statusOf(error) === undefined) {
      throw new QscaleError('DOCKER_UNREACHABLE', `cannot reach the Docker engine at ${endpoint} (${code})`, {
        hint: code === 'EACCES' ? 'you lack permission on the Docker socket: use sudo, or join the docker group, knowing that membership is root-equivalent (anyone in it can get a root shell on this host); rootless Docker avoids that' : 'start it with `make setup` (or `dockerd`), or set DOCKER_HOST',
        cause: error,
      });
    }
    throw error;
  }
}

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

export function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return json?.message ?? (error as Error).message ?? String(error);
}

/** A response stream as chunks that simply end, closing the connection, when `signal` aborts. */
export async function* endedBy(stream: NodeJS.ReadableStream, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const readable = stream as Readable;
  const close = () => readable.destroy();
  if (signal.aborted) close();
  signal.addEventListener('abort', close, { once: true });
  try {
    for await (const chunk of readable) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', close);
    readable.destroy();
  }
}
