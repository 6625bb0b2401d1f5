import { LABEL } from '../compose-labels.js';

/** A container as log output names it. */
export interface LogContainer {
  id: string;
  /** What each line is prefixed with: "<service>-<number>", as Compose shows a replica. */
  name: string;
  /** The engine's container name, e.g. "proj-worker-a-1". */
  containerName: string;
  service: string;
  number: number | null;
}

/** Names a container from its Compose labels; without them, from its engine name minus the project prefix. */
export function logContainerOf(container: { id: string; name: string; labels: Record<string, string> }): LogContainer {
  const containerName = container.name.replace(/^\//, '');
  const service = container.labels[LABEL.service] ?? '';
  const parsed = Number.parseInt(container.labels[LABEL.containerNumber] ?? '', 10);
  const number = Number.isInteger(parsed) ? parsed : null;
  const project = container.labels[LABEL.project];
  let name: string;
  if (service && number !== null) name = `${service}-${number}`;
  else if (project && containerName.startsWith(`${project}-`)) name = containerName.slice(project.length + 1);
  else name = containerName || container.id.slice(0, 12);
  return { id: container.id, name, containerName, service, number };
}

/**
 * A stable slot in a palette of `size` colours for a name (FNV-1a), so worker-a-1 has the same
 * colour in every run and in every terminal.
 */
export function paletteSlot(name: string, size: number): number {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`palette size must be a whole number ≥ 1, got ${size}`);
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % size;
}
