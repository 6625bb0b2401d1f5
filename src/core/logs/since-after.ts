import type { ContainerEvent } from '../ports/container-logs.js';

/**
 * The `since` (seconds) that re-subscribes to engine events just after this one, so none is
 * reported twice: 1 µs later, the finest step `since` takes (event times are in ms, from ns).
 */
export function sinceAfter(event: Pick<ContainerEvent, 'time'>): number {
  return (event.time + 0.001) / 1000;
}
