import type { FleetBackend } from '../backend/fleet-backend.js';
import type { BrokerAdmin, QueueStats } from '../ports/broker.js';
import { deadLetterQueueOf, quarantineQueueOf } from '../../../templates/worker/src/protocol.js';
import { queueMismatches } from '../config/qscale-config.js';

export interface ServiceStatus {
  service: string;
  queue: string;
  running: number;
  /** Containers of the service in any state: what it was scaled to. */
  desired: number;
  min: number;
  max: number;
  healthy: number;
  unhealthy: number;
  /**
   * From the broker, the task queue and its quarantine queue `<queue>.quarantine` counted together
   * (both hold the service's tasks); null when it could not be asked (see broker.error) or the queue does not exist.
   */
  broker: QueueStats | null;
  /** Of those, messages waiting in the quarantine queue; null when unknown or absent. */
  quarantined: number | null;
  /** Messages waiting in the dead-letter queue `<queue>.dlq`; null when unknown or absent. */
  deadLettered: number | null;
}

export interface FleetStatus {
  project: string;
  backend: FleetBackend['kind'];
  services: ServiceStatus[];
  /** reachable: some figure came from the broker; error: why none did; notes: what the figures lack. */
  broker: { endpoint: string; reachable: boolean; error?: string; notes: string[] };
  /** Config and compose file disagree (the queue a worker reads): one line each. */
  warnings: string[];
}

/** The backend's view of every worker service, and the broker's view of its queue when it answers. */
export async function collectStatus(backend: FleetBackend, openBroker: () => Promise<BrokerAdmin>, endpoint: string): Promise<FleetStatus> {
  const { config } = backend;
  const queues = config.workers.flatMap((worker) => [worker.queue, quarantineQueueOf(worker.queue), deadLetterQueueOf(worker.queue)]);
  const [counts, brokerResult] = await Promise.all([backend.replicaCounts(), readQueues(openBroker, queues)]);
  const services = config.workers.map((worker): ServiceStatus => {
    const count = counts.get(worker.name) ?? { running: 0, desired: 0, healthy: 0, unhealthy: 0 };
    return {
      service: worker.name,
      queue: worker.queue,
      ...count,
      min: worker.minReplicas,
      max: Math.min(worker.maxReplicas, config.scaling.maxWorkersPerQueue),
      broker: withQuarantine(brokerResult.stats?.get(worker.queue), brokerResult.stats?.get(quarantineQueueOf(worker.queue))),
      quarantined: brokerResult.stats?.get(quarantineQueueOf(worker.queue))?.ready ?? null,
      deadLettered: brokerResult.stats?.get(deadLetterQueueOf(worker.queue))?.ready ?? null,
    };
  });
  return {
    project: config.project.name,
    backend: backend.kind,
    services,
    broker: { endpoint, reachable: brokerResult.stats !== undefined, error: brokerResult.error, notes: brokerResult.notes ?? [] },
    warnings: queueMismatches(config).map((mismatch) => mismatch.message),
  };
}

/** A task queue's figures with its quarantine queue's added: what the service still has to do. */
function withQuarantine(task: QueueStats | undefined, quarantine: QueueStats | undefined): QueueStats | null {
  if (!task) return null;
  if (!quarantine) return task;
  const add = (a: number | undefined, b: number | undefined) => (a === undefined ? undefined : a + (b ?? 0));
  return { ...task, ready: task.ready + quarantine.ready, unacked: add(task.unacked, quarantine.unacked) };
}

async function readQueues(openBroker: () => Promise<BrokerAdmin>, queues: string[]): Promise<{ stats?: Map<string, QueueStats | undefined>; error?: string; notes?: string[] }> {
  let broker: BrokerAdmin | undefined;
  try {
    broker = await openBroker();
    return { stats: await broker.queueStats(queues), notes: [...(broker.notes ?? [])] };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    await broker?.close().catch(() => {});
  }
}
