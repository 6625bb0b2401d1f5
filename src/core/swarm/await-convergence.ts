import type { Clock } from '../clock.js';
import { LABEL } from '../compose-labels.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { EventSink } from '../events.js';
import type { SwarmApi, SwarmTask } from '../ports/swarm.js';

export interface ConvergenceOptions {
  /** Give up (exit 1) when the tasks have not matched the count by then. */
  timeoutMs: number;
  /** How often the tasks are listed. */
  pollMs: number;
}

export const DEFAULT_CONVERGENCE: ConvergenceOptions = { timeoutMs: 60_000, pollMs: 500 };

export interface ConvergenceTarget {
  serviceId: string;
  /** The Swarm service name, for messages: "proj_worker-a". */
  service: string;
  desired: number;
  /** Tasks of the current spec carry it; tasks still rolling over from an older spec do not. */
  specHash: string;
  /** Tasks that had already failed before the change; only newer failures are ours to report. */
  failedBefore: ReadonlySet<string>;
}

const FAILED_STATES = new Set(['failed', 'rejected']);

export function isFailedTask(task: SwarmTask): boolean {
  return FAILED_STATES.has(task.state) || (task.error !== null && task.state !== 'running');
}

/**
 * Waits until a service runs exactly its count: as many running tasks of the current spec, all
 * meant to run, and no other task still running. A task that fails meanwhile ends the wait with
 * its error: Swarm would retry it forever, and the cause (a missing image, a crash at start)
 * will not go away by itself.
 */
export async function awaitConvergence(
  deps: { swarm: SwarmApi; clock: Clock; onEvent: EventSink; signal?: AbortSignal },
  target: ConvergenceTarget,
  options: ConvergenceOptions,
): Promise<void> {
  const { swarm, clock, onEvent } = deps;
  const start = clock.now();
  let reported = '';
  for (;;) {
    throwIfAborted(deps.signal);
    const tasks = await swarm.listTasks([target.serviceId]);
    const failed = tasks.filter((task) => isFailedTask(task) && !target.failedBefore.has(task.id)).sort((a, b) => a.statusAt - b.statusAt);
    if (failed.length > 0) {
      const [first] = failed;
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more failed tasks)` : '';
      throw new QscaleError('DOCKER_FAILED', `${target.service}: task ${target.service}.${first.slot ?? '?'} failed to start: ${first.error ?? first.state}${more}`, {
        hint: `docker service ps --no-trunc ${target.service} shows every attempt`,
      });
    }
    const running = tasks.filter((task) => task.state === 'running');
    const current = running.filter((task) => task.desiredState === 'running' && task.labels[LABEL.specHash] === target.specHash);
    const now = clock.now();
    if (current.length === target.desired && running.length === target.desired) {
      onEvent({ type: 'converged', service: target.service, running: current.length, at: now, elapsedMs: now - start });
      return;
    }
    const stopping = running.length - current.length;
    if (`${current.length}/${stopping}` !== reported) {
      onEvent({ type: 'converging', service: target.service, running: current.length, stopping, desired: target.desired, at: now });
      reported = `${current.length}/${stopping}`;
    }
    if (now - start >= options.timeoutMs) {
      throw new QscaleError('DOCKER_FAILED', `${target.service}: ${current.length} of ${target.desired} tasks running after ${Math.round(options.timeoutMs / 1000)}s`, {
        hint: `the service is scaled to ${target.desired} and Swarm keeps trying; docker service ps ${target.service} shows why tasks wait`,
      });
    }
    try {
      await clock.sleep(options.pollMs, deps.signal);
    } catch {
      throwIfAborted(deps.signal);
      throw new QscaleError('ABORTED', 'interrupted');
    }
  }
}
