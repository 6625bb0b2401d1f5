import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { AutoscaleMetrics, serveMetrics, type MetricsServer } from '../../core/autoscale/metrics.js';
import { describePolicy, policyOf } from '../../core/autoscale/policy.js';
import { runAutoscaler } from '../../core/autoscale/run-autoscaler.js';
import { parseTrace, serviceRateFromLoadTest, simulate } from '../../core/autoscale/simulate.js';
import { findWorker, type WorkerService } from '../../core/config/qscale-config.js';
import { usageError } from '../../core/errors.js';
import { assertScalingEnabled } from '../../core/scale/scale-service.js';
import type { CommandContext } from '../context.js';
import { writeTo } from '../output.js';
import { parseIntervalMs } from '../parse.js';
import { decisionJson, renderAutoscaleNotice, renderDecision, renderSimulation, simulationCsv } from '../render/autoscale.js';
import { progressRenderer } from '../render/progress.js';
import { contextOf, type Runtime } from '../runtime.js';

export interface AutoscaleCliOptions {
  interval?: string;
  dryRun?: boolean;
  once?: boolean;
  json?: boolean;
  metricsPort?: string;
}

export function autoscaleCommand(runtime: Runtime): Command {
  const command = new Command('autoscale')
    .description('scale worker services on their queue backlog (and CPU, message rates) until Ctrl-C; policy in test-config.yml')
    .argument('[service...]', 'worker services to autoscale (default: every one whose autoscale.enabled is not false)')
    .option('--interval <duration>', 'how often to observe and decide', '2s')
    .option('--dry-run', 'decide and print, never scale')
    .option('--once', 'observe and decide once, then exit')
    .option('--json', 'one JSON object per decision, one per line')
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics')
    .action(async (services: string[], options: AutoscaleCliOptions, self: Command) => {
      const context = contextOf(runtime, self);
      const workers = services.length > 0 ? services.map((name) => findWorker(context.config, name)) : context.config.workers.filter((worker) => policyOf(worker).enabled);
      if (workers.length === 0) throw usageError(`no worker service has autoscaling enabled in ${context.config.configFile}`, 'name services, or drop autoscale.enabled: false');
      await autoscaleFleet(context, workers, options);
    });
  command.addCommand(simulateCommand(runtime).configureOutput(outputOf(runtime)).exitOverride());
  return command;
}

/** Runs the autoscaling loop on the given services until the run's signal aborts: `qscale autoscale`, and `qscale up` with auto_scale. */
export async function autoscaleFleet(context: CommandContext, workers: WorkerService[] = context.config.workers.filter((worker) => policyOf(worker).enabled), options: AutoscaleCliOptions = {}): Promise<void> {
  const { config, out } = context;
  if (!options.dryRun) assertScalingEnabled(config.scaling, config.configFile);
  const intervalMs = parseIntervalMs(options.interval ?? '2s', '--interval');
  const metricsPort = parsePort(options.metricsPort);
  const width = Math.max(...workers.map((worker) => worker.name.length));
  if (!options.json) {
    for (const worker of workers) out.info(`${worker.name} (queue ${worker.queue}): ${describePolicy(policyOf(worker))}`);
  }
  const metrics = metricsPort === undefined ? undefined : new AutoscaleMetrics();
  let server: MetricsServer | undefined;
  if (metrics) {
    server = await serveMetrics(metrics, metricsPort!).catch((error: Error) => {
      throw usageError(`--metrics-port: cannot listen on 127.0.0.1:${metricsPort} (${(error as NodeJS.ErrnoException).code ?? error.message})`);
    });
    out.info(`Prometheus metrics on http://127.0.0.1:${server.port}/metrics`);
  }
  if (!options.json && !options.once) out.info(out.color.dim(`every ${intervalMs / 1000}s${options.dryRun ? ', dry run' : ''} · Ctrl-C to stop`));
  // Scaling must not depend on someone reading the decisions (`autoscale | head`): it goes on,
  // unprinted. A dry run has nothing left to do once nobody reads it (unless its metrics are
  // served): it ends with 0, as any command that only prints.
  const onlyPrints = options.dryRun && metricsPort === undefined;
  const signal = onlyPrints ? AbortSignal.any([context.signal, out.stdoutClosedSignal]) : context.signal;
  const onStdoutClosed = () => out.info(`stdout was closed: ${options.dryRun ? 'deciding' : 'autoscaling'} goes on without printing decisions (Ctrl-C to stop)`);
  if (!onlyPrints) out.stdoutClosedSignal.addEventListener('abort', onStdoutClosed, { once: true });
  try {
    await runAutoscaler(
      {
        // The loop reports each scale itself; of the containers' own progress, only failures.
        backend: await context.backend(progressRenderer(out, 'quiet')),
        openBroker: () => context.deps.openBroker(config.broker.url, config.broker.managementUrl, { liveCounts: true }),
        clock: context.deps.clock,
        signal,
        metrics,
        onEvent: (event) => {
          if (event.type === 'decision') {
            if (options.json) out.line(JSON.stringify(decisionJson(event)));
            else out.line(renderDecision(out, event, width));
          } else if (event.type === 'outage' || event.type === 'scale-failed') out.warn(renderAutoscaleNotice(event));
          else out.info(renderAutoscaleNotice(event));
        },
      },
      { workers, intervalMs, dryRun: options.dryRun, once: options.once },
    );
  } finally {
    out.stdoutClosedSignal.removeEventListener('abort', onStdoutClosed);
    await server?.close();
  }
}

interface SimulateCliOptions {
  trace: string;
  serviceRate?: string;
  fromLoadTest?: string;
  startupDelay: string;
  interval: string;
  latencyTarget: string;
  initial?: string;
  out?: string;
  json?: boolean;
}

function simulateCommand(runtime: Runtime): Command {
  return new Command('simulate')
    .description("replay an arrival-rate trace against a model of the workers with the autoscaler's own decisions; no Docker, no broker")
    .argument('[service]', "whose policy to use (default: the first autoscaled worker service)")
    .requiredOption('--trace <file>', 'CSV of "seconds,tasks_per_second" lines; the last line marks the end')
    .option('--service-rate <rate>', 'tasks one worker completes per second, e.g. 10/s or 600/m')
    .option('--from-load-test <file>', 'take the service rate from a `qscale load-test --json` result')
    .option('--startup-delay <duration>', 'from a scale-up to the new worker consuming', '2s')
    .option('--latency-target <duration>', 'count the time the estimated latency exceeds this', '10s')
    .option('--initial <count>', "replicas at time 0 (default: the service's initial_replicas)")
    .option('--out <file>', 'also write the steps and totals: .csv (steps) or .json (everything)')
    .addHelpText('after', '\n--interval <duration> (one decision per step, default 2s) and --json are the ones of `qscale autoscale`.')
    .action(async (service: string | undefined, own: Omit<SimulateCliOptions, 'interval' | 'json'>, self: Command) => {
      const context = contextOf(runtime, self);
      // Commander gives --interval and --json to `autoscale` wherever they stand: take them from there.
      const inherited = self.parent!.opts<AutoscaleCliOptions>();
      for (const [flag, given] of [['--dry-run', inherited.dryRun], ['--once', inherited.once], ['--metrics-port', inherited.metricsPort]] as const) {
        if (given !== undefined) throw usageError(`${flag} is not an option of \`qscale autoscale simulate\``);
      }
      const options: SimulateCliOptions = { ...own, interval: inherited.interval ?? '2s', json: inherited.json };
      const { config, out } = context;
      const worker = service ? findWorker(config, service) : (config.workers.find((candidate) => policyOf(candidate).enabled) ?? config.workers[0]);
      const resolve = (file: string) => path.resolve(context.deps.cwd, file);
      const trace = parseTrace(readText(resolve(options.trace), options.trace), options.trace);
      if (options.serviceRate && options.fromLoadTest) throw usageError('--service-rate and --from-load-test: give one, not both');
      let serviceRate: number;
      if (options.serviceRate) serviceRate = parseRate(options.serviceRate);
      else if (options.fromLoadTest) {
        const text = readText(resolve(options.fromLoadTest), options.fromLoadTest);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          throw usageError(`${options.fromLoadTest}: not JSON (${(error as Error).message})`);
        }
        serviceRate = serviceRateFromLoadTest(parsed, worker.queue, options.fromLoadTest);
      } else throw usageError('give the workers\' speed: --service-rate 10/s or --from-load-test result.json');
      const outFormat = options.out === undefined ? undefined : path.extname(options.out).toLowerCase();
      if (outFormat !== undefined && outFormat !== '.csv' && outFormat !== '.json') throw usageError(`--out: "${options.out}" must end in .csv or .json`);
      const initial = options.initial === undefined ? worker.initialReplicas : Number(options.initial);
      if (!Number.isInteger(initial) || initial < 0) throw usageError(`--initial: "${options.initial}" is not a whole number ≥ 0`);

      const result = simulate({
        policy: policyOf(worker),
        trace,
        serviceRatePerWorker: serviceRate,
        startupDelayMs: parseDelayMs(options.startupDelay, '--startup-delay'),
        intervalMs: parseIntervalMs(options.interval, '--interval'),
        initialReplicas: initial,
        latencyTargetMs: parseIntervalMs(options.latencyTarget, '--latency-target'),
      });
      if (options.out) writeFileSync(resolve(options.out), outFormat === '.csv' ? simulationCsv(result) : `${JSON.stringify(result, null, 2)}\n`);
      if (options.json) out.json(result);
      else out.line(renderSimulation(out, result, `${worker.name}: ${describePolicy(policyOf(worker))}`));
      if (options.out) out.info(`wrote ${options.out}`);
    });
}

function readText(file: string, shown: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError(`${shown}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** "10", "10/s", "600/m", "600/min": tasks per second. */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min))?\s*$/.exec(text);
  const value = match ? Number(match[1]) / (match[2]?.startsWith('m') ? 60 : 1) : NaN;
  if (!(value > 0)) throw usageError(`--service-rate: "${text}" is not a rate above 0 (examples: 10/s, 600/m)`);
  return value;
}

function parseDelayMs(text: string, flag: string): number {
  if (/^\s*0+\s*$/.test(text)) return 0;
  return parseIntervalMs(text, flag);
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw usageError(`--metrics-port: "${text}" is not a port (0-65535)`);
  return port;
}

function outputOf(runtime: Runtime) {
  return { writeOut: (text: string) => writeTo(runtime.deps.stdout, text), writeErr: (text: string) => writeTo(runtime.deps.stderr, text) };
}
