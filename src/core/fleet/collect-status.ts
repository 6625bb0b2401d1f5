import type { FleetBackend } from '../backend/fleet-backend.js';
import type { BrokerAdmin, QueueStats } from '../ports/broker.js';
import { deadLetterQueueOf } from '../../../templates/worker/src/protocol.js';

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
  /** From the broker; null when it could not be asked (see brokerError) or the queue does not exist. */
  broker: QueueStats | null;
  /** Messages waiting in the dead-letter queue `<queue>.dlq`; null when unknown or absent. */
  deadLettered: number | null;
}

export interface FleetStatus {
  project: string;
  backend: FleetBackend['kind'];
  services: ServiceStatus[];
  broker: { endpoint: string; reachable: boolean; error?: string };
}

/** The backend's view of every worker service, and the broker's view of its queue when it answers. */
export async function collectStatus(backend: FleetBackend, openBroker: () => Promise<BrokerAdmin>, endpoint: string): Promise<FleetStatus> {
  const { config } = backend;
  const queues = config.workers.flatMap((worker) => [worker.queue, deadLetterQueueOf(worker.queue)]);
  const [counts, brokerResult] = await Promise.all([backend.replicaCounts(), readQueues(openBroker, queues)]);
  const services = config.workers.map((worker): ServiceStatus => {
    const count = counts.get(worker.name) ?? { running: 0, desired: 0, healthy: 0, unhealthy: 0 };
    return {
      service: worker.name,
      queue: worker.queue,
      ...count,
      min: worker.minReplicas,
      max: Math.min(worker.maxReplicas, config.scaling.maxWorkersPerQueue),
      broker: brokerResult.stats?.get(worker.queue) ?? null,
      deadLettered: brokerResult.stats?.get(deadLetterQueueOf(worker.queue))?.ready ?? null,
    };
  });
  return {
    project: config.project.name,
    backend: backend.kind,
    services,
    broker: { endpoint, reachable: brokerResult.stats !== undefined, error: brokerResult.error },
  };
}

async function readQueues(openBroker: () => Promise<BrokerAdmin>, queues: string[]): Promise<{ stats?: Map<string, QueueStats | undefined>; error?: string }> {
  let broker: BrokerAdmin | undefined;
  try {
    broker = await openBroker();
    return { stats: await broker.queueStats(queues) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    await broker?.close().catch(() => {});
  }
}
