import { homedir } from 'node:os';
import Docker from 'dockerode';
import { dockerodeOptions, resolveDockerEndpoint } from './docker-endpoint.js';
import { QscaleError } from '../../core/errors.js';
import { callEngine, endedBy, messageOf, statusOf } from './engine-calls.js';
import {
  ContainerGoneError,
  NameConflictError,
  type ContainerDetails,
  type ContainerEngine,
  type ContainerHealth,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  type ContainerUsage,
  type NetworkSpec,
} from '../../core/ports/container-engine.js';
import type { ContainerEvent, ContainerLogSource, ContainerLogStream, LogRequest } from '../../core/ports/container-logs.js';

/**
 * The one place qscale talks to the Docker Engine API. The engine is chosen as the docker CLI
 * chooses it: DOCKER_HOST (unix, tcp+TLS, ssh), else DOCKER_CONTEXT, else the current context.
 */
export class DockerEngine implements ContainerEngine, ContainerLogSource {
  readonly docker: Docker;
  readonly endpoint: string;
  readonly connectionWarnings: readonly string[];

  constructor(env: NodeJS.ProcessEnv = process.env, homeDir: string = homedir()) {
    const endpoint = resolveDockerEndpoint(env, homeDir);
    this.docker = new Docker(dockerodeOptions(endpoint, env));
    this.endpoint = endpoint.origin.startsWith('context') ? `${endpoint.host} (${endpoint.origin})` : endpoint.host;
    this.connectionWarnings = endpoint.warnings;
  }

  async ping(): Promise<void> {
    await this.call(() => this.docker.ping());
  }

  async listContainers(labelFilters: string[]): Promise<ContainerSummary[]> {
    const listed = await this.call(() => this.docker.listContainers({ all: true, filters: { label: labelFilters } }));
    return listed.map((info) => ({
      id: info.Id,
      name: (info.Names[0] ?? info.Id).replace(/^\//, ''),
      image: info.Image,
      labels: info.Labels ?? {},
      state: info.State as ContainerState,
      status: info.Status,
      health: healthFromStatus(info.Status),
      createdAt: info.Created * 1000,
    }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.call(() => this.docker.getContainer(id).inspect());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const state = info.State;
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      labels: info.Config.Labels ?? {},
      state: state.Status as ContainerState,
      status: describeState(state),
      health: (state.Health?.Status as ContainerHealth | undefined) || undefined,
      createdAt: Date.parse(info.Created),
      startedAt: timeOf(state.StartedAt),
      finishedAt: timeOf(state.FinishedAt),
      exitCode: state.ExitCode,
      restartCount: info.RestartCount,
    };
  }

  async imageExists(image: string): Promise<boolean> {
    try {
      await this.call(() => this.docker.getImage(image).inspect());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.call(() => this.docker.getNetwork(name).inspect());
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async createNetwork(spec: NetworkSpec): Promise<void> {
    try {
      await this.call(() => this.docker.createNetwork({ Name: spec.name, Labels: spec.labels, CheckDuplicate: true }));
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
  }

  async removeNetwork(name: string): Promise<void> {
    try {
      await this.call(() => this.docker.getNetwork(name).remove());
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const check = spec.healthcheck;
    try {
      const container = await this.call(() =>
        this.docker.createContainer({
          ...spec.containerOptions,
          name: spec.name,
          Image: spec.image,
          Cmd: spec.command,
          Entrypoint: spec.entrypoint,
          Env: spec.env,
          Labels: spec.labels,
          User: spec.user,
          WorkingDir: spec.workingDir,
          StopSignal: spec.stopSignal,
          StopTimeout: spec.stopTimeoutSeconds,
          Healthcheck: check && {
            Test: check.test,
            Interval: check.intervalNs,
            Timeout: check.timeoutNs,
            Retries: check.retries,
            StartPeriod: check.startPeriodNs,
          },
          HostConfig: {
            ...spec.hostOptions,
            NetworkMode: spec.networkMode,
            Init: spec.init,
            Binds: spec.binds.length > 0 ? spec.binds : undefined,
            RestartPolicy: spec.restartPolicy && { Name: spec.restartPolicy.name, MaximumRetryCount: spec.restartPolicy.maximumRetryCount },
            NanoCpus: spec.nanoCpus,
            Memory: spec.memoryBytes,
          },
        }),
      );
      return container.id;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409) throw new NameConflictError(spec.name);
      if (status === 404 && /no such image/i.test(messageOf(error))) {
        throw new QscaleError('IMAGE_MISSING', `image ${spec.image} is not on this engine`, { hint: 'build it with `make build`' });
      }
      throw error;
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).start());
    } catch (error) {
      // Gone, or being removed by another process (409 "marked for removal"): either way it will not run.
      if (statusOf(error) === 404 || (statusOf(error) === 409 && /marked for removal|removal .*in progress/i.test(messageOf(error)))) throw new ContainerGoneError(id);
      if (statusOf(error) !== 304) throw error;
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).stop({ t: timeoutSeconds }));
    } catch (error) {
      const status = statusOf(error);
      if (status !== 304 && status !== 404) throw error;
    }
  }

  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await this.call(() => this.docker.getContainer(id).remove({ force: options.force ?? false }));
    } catch (error) {
      const status = statusOf(error);
      // 404: gone already. 409: another process is removing it right now.
      if (status === 404 || (status === 409 && /already in progress/i.test(messageOf(error)))) return;
      throw error;
    }
  }

  async containerStats(id: string): Promise<ContainerUsage | undefined> {
    let stats: Docker.ContainerStats;
    try {
      // One sample with the previous one beside it (the engine waits about a second for it), as `docker stats --no-stream` does.
      stats = await this.call(() => this.docker.getContainer(id).stats({ stream: false }));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - (stats.precpu_stats?.cpu_usage?.total_usage ?? 0);
    const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats?.system_cpu_usage ?? 0);
    const cpus = stats.cpu_stats.online_cpus || stats.cpu_stats.cpu_usage.percpu_usage?.length || 1;
    const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
    // As `docker stats` counts it: usage less the inactive page cache (cgroup v2: inactive_file, v1: total_inactive_file).
    const memory = stats.memory_stats as { usage?: number; limit?: number; stats?: Record<string, number | undefined> } | undefined;
    const cache = memory?.stats?.inactive_file ?? memory?.stats?.total_inactive_file ?? 0;
    const memoryPercent = memory?.usage !== undefined && memory.limit ? (Math.max(0, memory.usage - cache) / memory.limit) * 100 : undefined;
    return { cpuPercent, ...(memoryPercent !== undefined ? { memoryPercent } : {}) };
  }

  async openLogs(id: string, request: LogRequest, signal: AbortSignal): Promise<ContainerLogStream | undefined> {
    let tty: boolean;
    try {
      tty = Boolean((await this.call(() => this.docker.getContainer(id).inspect())).Config.Tty);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    let stream: NodeJS.ReadableStream;
    try {
      // Dialled as a stream even without follow: dockerode would buffer that answer, and parse it if it looks like JSON.
      stream = await this.call(
        () =>
          new Promise<NodeJS.ReadableStream>((resolve, reject) =>
            this.docker.modem.dial(
              {
                path: `/containers/${encodeURIComponent(id)}/logs?`,
                method: 'GET',
                isStream: true,
                abortSignal: signal,
                statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
                options: {
                  follow: request.follow,
                  stdout: true,
                  stderr: true,
                  timestamps: request.timestamps,
                  tail: request.tail ?? 'all',
                  since: request.sinceSeconds === undefined ? 0 : request.sinceSeconds.toFixed(6),
                },
              },
              (error, data) => (error ? reject(error) : resolve(data as NodeJS.ReadableStream)),
            ),
          ),
      );
    } catch (error) {
      if (signal.aborted || statusOf(error) === 404) return undefined;
      throw error;
    }
    return { tty, chunks: endedBy(stream, signal) };
  }

  async *containerEvents(labelFilters: string[], options: { sinceSeconds?: number }, signal: AbortSignal): AsyncIterable<ContainerEvent> {
    if (signal.aborted) return;
    const request: Docker.GetEventsOptions & { abortSignal: AbortSignal } = {
      filters: { label: labelFilters, type: ['container'] },
      since: options.sinceSeconds === undefined ? undefined : Number(options.sinceSeconds.toFixed(6)),
      abortSignal: signal,
    };
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.call(() => this.docker.getEvents(request));
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    // The engine writes one JSON object per line.
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of endedBy(stream, signal)) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        const event = line ? containerEventOf(JSON.parse(line)) : undefined;
        if (event) yield event;
      }
    }
  }

  private call<T>(request: () => Promise<T>): Promise<T> {
    return callEngine(this.endpoint, request);
  }

}



function healthFromStatus(status: string): ContainerHealth | undefined {
  if (/\(healthy\)/.test(status)) return 'healthy';
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(health: starting\)/.test(status)) return 'starting';
  return undefined;
}

function timeOf(iso: string | undefined): number | undefined {
  if (!iso || iso.startsWith('0001-')) return undefined;
  const parsed = Date.parse(iso);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function describeState(state: Docker.ContainerInspectInfo['State']): string {
  if (state.Running) return state.Health ? `running (${state.Health.Status})` : 'running';
  if (state.Status === 'exited') return `exited (${state.ExitCode})`;
  return state.Status;
}


interface EngineEventMessage {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

function containerEventOf(message: EngineEventMessage): ContainerEvent | undefined {
  const id = message.Actor?.ID ?? message.id;
  const action = message.Action ?? message.status;
  if (!id || !action || (message.Type && message.Type !== 'container')) return undefined;
  const time = message.timeNano ? message.timeNano / 1e6 : (message.time ?? 0) * 1000;
  return { id, action, time, attributes: message.Actor?.Attributes ?? {} };
}
