import { DockerEngine } from '../adapters/docker/docker-engine.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { processLockOwner, type LockOwner } from '../core/scale/service-lock.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { BrokerAdmin } from '../core/ports/broker.js';
import type { TaskBroker } from '../core/ports/task-broker.js';
import type { ContainerEngine } from '../core/ports/container-engine.js';
import type { ContainerLogSource } from '../core/ports/container-logs.js';
import type { SwarmApi } from '../core/ports/swarm.js';
import { DockerSwarmApi } from '../adapters/docker/swarm-api.js';
import type { WorkerStateProbe, WorkerStateSnapshot } from '../core/ports/worker-state.js';

/** Loads amqplib only when a probe is actually made (a scale-in, `ps`). */
class LazyWorkerStateProbe implements WorkerStateProbe {
  constructor(private readonly brokerUrl: string) {}

  async probe(containerIds: readonly string[], signal?: AbortSignal): Promise<WorkerStateSnapshot> {
    const { RabbitWorkerStateProbe } = await import('../adapters/rabbitmq/worker-state-probe.js');
    return new RabbitWorkerStateProbe(this.brokerUrl).probe(containerIds, signal);
  }
}

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Everything a command reaches outside itself. Tests pass fakes; `main` passes the real ones. */
export interface CliDependencies {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: OutputStream;
  stderr: OutputStream;
  clock: Clock;
  createEngine(): ContainerEngine & ContainerLogSource;
  /** liveCounts: ready and consumer counts from AMQP even when the (lagging) management API answers. */
  openBroker(url: string, managementUrl?: string, options?: { liveCounts?: boolean }): Promise<BrokerAdmin>;
  /** The load test's publisher and collector; with a management URL its queue counts include unacked. */
  openTaskBroker(url: string, managementUrl?: string): Promise<TaskBroker>;
  /** Asks a yes/no question on the terminal; undefined when there is no terminal to ask. */
  confirm?(question: string): Promise<boolean | undefined>;
  /** Names a load-test run (its results queue, its report). */
  newRunId(): string;
  /** The Swarm API of the same engine (client); absent, only the Compose backend can run. */
  createSwarm?(engine: ContainerEngine): SwarmApi | undefined;
  /** Asks workers over the broker what they are doing (scale-in order, `ps`); absent, nobody is asked. */
  createWorkerStateProbe?(brokerUrl: string): WorkerStateProbe;
  /** This process as the owner of scaling locks; absent, a lock's owner is never checked, only its age. */
  lockOwner?: LockOwner;
}

export function realDependencies(): CliDependencies {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    clock: systemClock,
    createEngine: () => new DockerEngine(process.env),
    // amqplib is loaded only by the commands that talk to the broker.
    openBroker: async (...args) => (await import('../adapters/rabbitmq/broker-admin.js')).openBrokerAdmin(...args),
    openTaskBroker: async (url, managementUrl) => (await import('../adapters/rabbitmq/task-broker.js')).openTaskBroker(url, managementUrl),
    confirm: askOnTerminal,
    newRunId: () => `lt-${randomBytes(4).toString('hex')}`,
    createWorkerStateProbe: (brokerUrl) => new LazyWorkerStateProbe(brokerUrl),
    createSwarm: (engine) => (engine instanceof DockerEngine ? new DockerSwarmApi(engine.docker, engine.endpoint) : undefined),
    // Another process's lock on this host is alive while its pid runs.
    lockOwner: processLockOwner(hostname(), process.pid, (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    }),
  };
}

/** y/N on the terminal (stdin and stderr both a TTY); undefined without one. */
async function askOnTerminal(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const { createInterface } = await import('node:readline/promises');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
