import type { Clock } from '../clock.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { EventSink } from '../events.js';
import { NameConflictError, type ContainerEngine } from '../ports/container-engine.js';

/** Label that marks a lock container; its value is the lock's name. */
export const LOCK_LABEL = 'io.qscale.lock';
const OWNER_LABEL = 'io.qscale.lock.owner';
const SINCE_LABEL = 'io.qscale.lock.since';

/**
 * A lock whose owner cannot be checked (another host) is taken over after this long, plus the
 * longest its run could spend stopping containers (see lockService's longestStopMs).
 */
export const LOCK_STALE_MS = 10 * 60_000;
const LOCK_POLL_MS = 250;
const LOCK_WAIT_MS = 5 * 60_000;

export interface LockOwner {
  /** A new owner id for one run ("host:pid:n"), written on the locks it takes. */
  begin(): string;
  /** The run ended: a lock of its left behind (the engine was gone at release) is stale from now on. */
  end(ownerId: string): void;
  /** Whether the run named in another lock still goes on; undefined when that cannot be told (another host). */
  isAlive(ownerId: string): boolean | undefined;
}

/**
 * The lock owner of one process: a run of this process is alive while it has not ended; a run of
 * another process on this host while that pid runs; on another host, unknown.
 */
export function processLockOwner(host: string, pid: number, pidRuns: (pid: number) => boolean): LockOwner {
  const running = new Set<string>();
  let next = 0;
  return {
    begin() {
      const id = `${host}:${pid}:${++next}`;
      running.add(id);
      return id;
    },
    end(id) {
      running.delete(id);
    },
    isAlive(id) {
      const [ownerHost, ownerPid] = id.split(':');
      if (ownerHost !== host || !/^\d+$/.test(ownerPid ?? '')) return undefined;
      return Number(ownerPid) === pid ? running.has(id) : pidRuns(Number(ownerPid));
    },
  };
}

export interface ServiceLockDependencies {
  engine: ContainerEngine;
  clock: Clock;
  onEvent: EventSink;
  signal?: AbortSignal;
  lockOwner?: LockOwner;
}

/**
 * One qscale run at a time changes a service. Two runs asking for different counts would otherwise
 * undo each other's work round after round, until both gave up at a count neither asked for; with
 * the lock the later run waits, then applies its count, and both tell the truth.
 *
 * The lock is a container that is never started, named after the service: Docker's unique
 * container names make taking it atomic, on any engine (local or DOCKER_HOST). It carries no
 * Compose labels, so neither Compose nor qscale counts it. A lock left by a process that died is
 * taken over (its owner is checked when it ran on this host; else after LOCK_STALE_MS plus
 * longestStopMs, the service's stop grace × its most replicas: a live run on another host must not
 * lose its lock while it stops containers).
 *
 * Returns the release function, and whether it had to wait (then what was observed before is
 * stale); undefined when no lock could be made twice (the image is missing, say), in which case the
 * run goes on unlocked, protected by unique names and re-observation, and says so.
 */
export async function lockService(
  deps: ServiceLockDependencies,
  lock: { project: string; service: string; image: string; owner: string; longestStopMs?: number },
): Promise<{ release: () => Promise<void>; waited: boolean } | undefined> {
  const { project, service, image, owner } = lock;
  const staleAfterMs = LOCK_STALE_MS + (lock.longestStopMs ?? 0);
  const name = `${project}-${service}-qscale-lock`;
  const startedAt = deps.clock.now();
  let announced = false;
  let failedCreates = 0;
  for (;;) {
    throwIfAborted(deps.signal);
    let id: string;
    try {
      id = await deps.engine.createContainer({
        name,
        image,
        command: ['true'],
        env: [],
        labels: { [LOCK_LABEL]: `${project}/${service}`, [OWNER_LABEL]: owner, [SINCE_LABEL]: String(deps.clock.now()) },
        networkMode: 'none',
        binds: [],
      });
    } catch (error) {
      if (!(error instanceof NameConflictError)) {
        if (++failedCreates < 2) continue;
        const reason = error instanceof Error ? error.message : String(error);
        deps.onEvent({ type: 'notice', service, message: `going on without the lock ${name} (another qscale run may change ${service} at the same time): creating it failed: ${reason}` });
        return undefined;
      }
      const holder = (await deps.engine.listContainers([`${LOCK_LABEL}=${project}/${service}`]))[0];
      if (holder && isStale(holder.labels, deps.clock.now(), deps.lockOwner, staleAfterMs)) {
        deps.onEvent({ type: 'notice', service, message: `taking over the lock ${name} left by ${holder.labels[OWNER_LABEL] ?? 'a process'} that is gone` });
        await deps.engine.removeContainer(holder.id, { force: true });
        continue;
      }
      if (!announced) {
        deps.onEvent({ type: 'notice', service, message: `waiting for another qscale run (${holder?.labels[OWNER_LABEL] ?? 'unknown'}) that is changing ${service}` });
        announced = true;
      }
      if (deps.clock.now() - startedAt > LOCK_WAIT_MS) {
        throw new QscaleError('DOCKER_FAILED', `${service}: another qscale run (${holder?.labels[OWNER_LABEL] ?? 'unknown'}) has been changing it for over ${LOCK_WAIT_MS / 60_000} minutes; nothing changed`, {
          hint: `if no such run exists, remove the lock: docker rm ${name}`,
        });
      }
      await deps.clock.sleep(LOCK_POLL_MS, deps.signal).catch(() => {});
      continue;
    }
    return {
      waited: announced,
      release: async () => {
        await deps.engine.removeContainer(id, { force: true }).catch(() => {});
      },
    };
  }
}

function isStale(labels: Record<string, string>, now: number, self: LockOwner | undefined, staleAfterMs: number): boolean {
  const owner = labels[OWNER_LABEL];
  const alive = owner && self ? self.isAlive(owner) : undefined;
  if (alive !== undefined) return !alive;
  const since = Number(labels[SINCE_LABEL]);
  return Number.isFinite(since) && now - since > staleAfterMs;
}
