import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Writes files into a fresh temporary folder and returns its path. */
export function writeProject(files: Record<string, string>, prefix = 'qscale-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

export const SIMPLE_COMPOSE = `services:
  worker-a:
    image: demo/worker:1
    network_mode: host
    environment:
      QUEUE: task_a
  worker-b:
    image: demo/worker:1
    network_mode: host
`;

export const SIMPLE_CONFIG = `project:
  name: demo
workers:
  worker-a:
    queue: task_a
    min_replicas: 1
    max_replicas: 5
    initial_replicas: 2
  worker-b:
    queue: task_b
    max_replicas: 3
`;
