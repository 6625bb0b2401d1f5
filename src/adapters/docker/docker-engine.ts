import Docker from 'dockerode';
import { QscaleError } from '../../core/errors.js';
import {
  NameConflictError,
  type ContainerDetails,
  type ContainerEngine,
  type ContainerHealth,
  type ContainerSpec,
  type ContainerState,
  type ContainerSummary,
  type NetworkSpec,
} from '../../core/ports/container-engine.js';

/** The one place qscale talks to the Docker Engine API. DOCKER_HOST (unix, tcp+TLS, ssh) is honoured. */
export class DockerEngine implements ContainerEngine {
  readonly docker: Docker;
  readonly endpoint: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.docker = new Docker();
    this.endpoint = env.DOCKER_HOST || 'unix:///var/run/docker.sock';
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

  /** Runs one API call, turning "cannot connect" into one clear error naming the endpoint. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code && ['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code) && statusOf(error) === undefined) {
        throw new QscaleError('DOCKER_UNREACHABLE', `cannot reach the Docker engine at ${this.endpoint} (${code})`, {
          hint: code === 'EACCES' ? 'you lack permission on the Docker socket; run as root or join the docker group' : 'start it with `make setup` (or `dockerd`), or set DOCKER_HOST',
          cause: error,
        });
      }
      throw error;
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return json?.message ?? (error as Error).message ?? String(error);
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
