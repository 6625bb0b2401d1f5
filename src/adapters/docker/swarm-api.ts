import type Docker from 'dockerode';
import { QscaleError } from '../../core/errors.js';
import { callEngine, endedBy, messageOf, statusOf } from './engine-calls.js';
import type { ContainerLogStream } from '../../core/ports/container-logs.js';
import {
  SwarmVersionConflictError,
  type ServiceLogRequest,
  type SwarmApi,
  type SwarmNode,
  type SwarmService,
  type SwarmServiceSpec,
  type SwarmTask,
  type SwarmTaskState,
} from '../../core/ports/swarm.js';

/**
 * The Swarm side of the Docker Engine API (services, tasks, nodes), over the same dockerode
 * client as DockerEngine, so DOCKER_HOST (unix, tcp+TLS, ssh) reaches a remote manager alike.
 */
export class DockerSwarmApi implements SwarmApi {
  constructor(
    private readonly docker: Docker,
    readonly endpoint: string,
  ) {}

  async isManager(): Promise<boolean> {
    const swarm = await this.swarmInfo();
    return swarm?.LocalNodeState === 'active' && swarm.ControlAvailable === true;
  }

  async localNodeId(): Promise<string | undefined> {
    const swarm = await this.swarmInfo();
    return swarm?.LocalNodeState === 'active' && swarm.NodeID ? swarm.NodeID : undefined;
  }

  async listServices(labelFilters: string[]): Promise<SwarmService[]> {
    const listed = await this.call(() => this.docker.listServices({ filters: { label: labelFilters } }));
    return (listed as unknown as ServiceInfo[]).map(serviceOf);
  }

  async inspectService(idOrName: string): Promise<SwarmService | undefined> {
    try {
      return serviceOf(await this.call(() => this.docker.getService(idOrName).inspect()));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async createService(spec: SwarmServiceSpec): Promise<string> {
    try {
      const created = await this.call(() => this.docker.createService(spec as Docker.CreateServiceOptions));
      return created.id;
    } catch (error) {
      // Another client created it a moment ago: inspect again and update instead.
      if (statusOf(error) === 409) throw new SwarmVersionConflictError(spec.Name);
      throw error;
    }
  }

  async updateService(id: string, version: number, spec: SwarmServiceSpec): Promise<void> {
    try {
      await this.dial({
        path: `/services/${encodeURIComponent(id)}/update?`,
        method: 'POST',
        options: { _query: { version }, _body: spec },
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such service', 500: 'server error', 503: 'node is not part of a swarm' },
      });
    } catch (error) {
      // The engine answers a stale version with a 500 naming the cause; there is no code of its own.
      if (/update out of sequence/i.test(messageOf(error))) throw new SwarmVersionConflictError(spec.Name);
      throw error;
    }
  }

  async removeService(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getService(id).remove());
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async listTasks(serviceIds: string[]): Promise<SwarmTask[]> {
    if (serviceIds.length === 0) return [];
    const listed = await this.call(() => this.docker.listTasks({ filters: { service: serviceIds } }));
    return (listed as TaskInfo[]).map(taskOf);
  }

  async listNodes(): Promise<SwarmNode[]> {
    const listed = (await this.call(() => this.docker.listNodes())) as NodeInfo[];
    return listed.map((node) => ({ id: node.ID, hostname: node.Description?.Hostname ?? node.ID, state: node.Status?.State ?? 'unknown' }));
  }

  async openServiceLogs(id: string, request: ServiceLogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined> {
    let stream: NodeJS.ReadableStream;
    try {
      // Dialled as a stream even without follow: dockerode would buffer that answer.
      stream = (await this.dial({
        path: `/services/${encodeURIComponent(id)}/logs?`,
        method: 'GET',
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: 'no such service', 500: 'server error', 503: 'node is not part of a swarm' },
        options: {
          follow: request.follow,
          stdout: true,
          stderr: true,
          timestamps: request.timestamps,
          details: request.details,
          tail: request.tail ?? 'all',
          since: request.sinceSeconds === undefined ? 0 : request.sinceSeconds.toFixed(6),
        },
      })) as NodeJS.ReadableStream;
    } catch (error) {
      if (signal.aborted || statusOf(error) === 404) return undefined;
      throw error;
    }
    // Service logs are always multiplexed, whatever the tasks' TTY.
    return { tty: false, chunks: endedBy(stream, signal) };
  }

  private async swarmInfo(): Promise<{ LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } | undefined> {
    const info = (await this.call(() => this.docker.info())) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } };
    return info.Swarm;
  }

  private dial(options: Record<string, unknown>): Promise<unknown> {
    return this.call(
      () =>
        new Promise((resolve, reject) =>
          (this.docker.modem as { dial(options: unknown, callback: (error: unknown, data: unknown) => void): void }).dial(options, (error, data) =>
            error ? reject(error) : resolve(data),
          ),
        ),
    );
  }

  /** Runs one API call, turning "cannot connect" and "not a manager" into clear errors. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await callEngine(this.endpoint, request);
    } catch (error) {
      if (statusOf(error) === 503) {
        throw new QscaleError('DOCKER_FAILED', `the engine at ${this.endpoint} is not a swarm manager (${messageOf(error)})`, {
          hint: 'point DOCKER_HOST at a manager node, or set system.backend: compose',
          cause: error,
        });
      }
      throw error;
    }
  }
}

interface ServiceInfo {
  ID: string;
  Version?: { Index?: number };
  Spec: SwarmServiceSpec;
}

interface TaskInfo {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

interface NodeInfo {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

function serviceOf(info: ServiceInfo): SwarmService {
  return { id: info.ID, version: info.Version?.Index ?? 0, spec: info.Spec };
}

function taskOf(info: TaskInfo): SwarmTask {
  const status = info.Status ?? {};
  const state = (status.State ?? 'new') as SwarmTaskState;
  const ended = ['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove'].includes(state);
  return {
    id: info.ID,
    serviceId: info.ServiceID,
    nodeId: info.NodeID || null,
    slot: info.Slot || null,
    state,
    desiredState: info.DesiredState ?? 'running',
    message: status.Message ?? '',
    error: status.Err || null,
    containerId: status.ContainerStatus?.ContainerID || null,
    exitCode: ended && status.ContainerStatus?.ExitCode !== undefined ? status.ContainerStatus.ExitCode : null,
    statusAt: status.Timestamp ? Date.parse(status.Timestamp) : 0,
    image: info.Spec?.ContainerSpec?.Image ?? '',
    labels: info.Spec?.ContainerSpec?.Labels ?? {},
  };
}



