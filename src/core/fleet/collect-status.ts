import { LABEL, projectFilter } from '../compose-labels.js';
import type { QscaleConfig } from '../config/qscale-config.js';
import type { ContainerEngine } from '../ports/container-engine.js';
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
  services: ServiceStatus[];
  broker: { endpoint: string; reachable: boolean; error?: string };
}

/** Docker's view of every worker service, and the broker's view of its queue when it answers. */
export async function collectStatus(engine: ContainerEngine, openBroker: () => Promise<BrokerAdmin>, config: QscaleConfig, endpoint: string): Promise<FleetStatus> {
  const queues = config.workers.flatMap((worker) => [worker.queue, deadLetterQueueOf(worker.queue)]);
  const [containers, brokerResult] = await Promise.all([engine.listContainers(projectFilter(config.project.name)), readQueues(openBroker, queues)]);
  const services = config.workers.map((worker): ServiceStatus => {
    const own = containers.filter((container) => container.labels[LABEL.service] === worker.name);
    const running = own.filter((container) => container.state === 'running');
    return {
      service: worker.name,
      queue: worker.queue,
      running: running.length,
      desired: own.length,
      min: worker.minReplicas,
      max: Math.min(worker.maxReplicas, config.scaling.maxWorkersPerQueue),
      healthy: running.filter((container) => container.health === 'healthy').length,
      unhealthy: running.filter((container) => container.health === 'unhealthy').length,
      broker: brokerResult.stats?.get(worker.queue) ?? null,
      deadLettered: brokerResult.stats?.get(deadLetterQueueOf(worker.queue))?.ready ?? null,
    };
  });
  return {
    project: config.project.name,
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
