import type { Command } from 'commander';
import { loadConfig, type QscaleConfig } from '../core/config/qscale-config.js';
import type { EventSink } from '../core/events.js';
import type { FleetBackend } from '../core/backend/fleet-backend.js';
import { selectBackend } from '../core/backend/select-backend.js';
import type { ContainerEngine } from '../core/ports/container-engine.js';
import type { ContainerLogSource } from '../core/ports/container-logs.js';
import type { CliDependencies } from './dependencies.js';
import { Output } from './output.js';

export interface GlobalOptions {
  config?: string;
  /** -f, repeatable. */
  file?: string[];
  /** --profile, repeatable. */
  profile?: string[];
  projectName?: string;
  color: boolean;
}

/** What a command works with: parsed global options, the output, and lazily made clients. */
export class CommandContext {
  readonly out: Output;
  private loadedConfig?: QscaleConfig;
  private createdEngine?: ContainerEngine & ContainerLogSource;

  constructor(
    readonly deps: CliDependencies,
    readonly globals: GlobalOptions,
    readonly signal: AbortSignal,
    /** The second Ctrl-C: give up what is in flight. */
    readonly abandon?: AbortSignal,
  ) {
    this.out = new Output(deps.stdout, deps.stderr, {
      color: Output.colorWanted(deps.stdout, deps.env, globals.color),
      stderrColor: Output.colorWanted(deps.stderr, deps.env, globals.color),
    });
  }

  static of(command: Command, deps: CliDependencies, signal: AbortSignal, abandon?: AbortSignal): CommandContext {
    return new CommandContext(deps, command.optsWithGlobals<GlobalOptions>(), signal, abandon);
  }

  /** test-config.yml and the compose file, parsed once. */
  get config(): QscaleConfig {
    if (this.loadedConfig) return this.loadedConfig;
    this.loadedConfig = loadConfig({
      configFile: this.globals.config,
      composeFile: this.globals.file,
      profiles: this.globals.profile,
      projectName: this.globals.projectName,
      env: this.deps.env,
      cwd: this.deps.cwd,
    });
    // What Compose would warn about too (unset variables, several candidate files), once per run.
    for (const warning of this.loadedConfig.compose.warnings ?? []) this.out.warn(warning);
    return this.loadedConfig;
  }

  get engine(): ContainerEngine & ContainerLogSource {
    if (!this.createdEngine) {
      this.createdEngine = this.deps.createEngine();
      for (const warning of this.createdEngine.connectionWarnings ?? []) this.out.warn(warning);
    }
    return this.createdEngine;
  }

  /** The platform the fleet runs on (Compose or Swarm); `onEvent` receives its progress. */
  backend(onEvent: EventSink = () => {}): Promise<FleetBackend> {
    const swarm = this.deps.createSwarm?.(this.engine);
    // Connects only when asked: before a scale-in, or for `ps`.
    const workerStates = this.deps.createWorkerStateProbe?.(this.config.broker.url);
    return selectBackend(this.config, { engine: this.engine, swarm, clock: this.deps.clock, onEvent, signal: this.signal, abandon: this.abandon, workerStates, lockOwner: this.deps.lockOwner });
  }
}
