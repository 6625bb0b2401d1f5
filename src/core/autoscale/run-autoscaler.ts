import type { Clock } from '../clock.js';
import type { WorkerService } from '../config/qscale-config.js';
import { isQscaleError, QscaleError } from '../errors.js';
import type { BrokerAdmin, QueueStats } from '../ports/broker.js';
import type { FleetBackend } from '../backend/fleet-backend.js';
import { decide, EMPTY_HISTORY, recordDecision, recordScale, type AutoscaleHistory, type Decision, type ServiceMetrics } from './decide.js';
import { globalFetcher, readCustomMetric, type MetricFetcher } from './custom-metric.js';
import type { AutoscaleMetrics } from './metrics.js';
import { policyOf, type AutoscalePolicy } from './policy.js';

export type MetricSource = 'broker' | 'docker' | 'custom-metric';

/** What the loop reports; it never prints. */
export type AutoscaleEvent =
  | { type: 'decision'; service: string; queue: string; at: number; dryRun: boolean; decision: Decision }
  | { type: 'scaled'; service: string; from: number; to: number; at: number; elapsedMs: number }
  | { type: 'scale-failed'; service: string; at: number; error: string }
  | { type: 'outage'; source: MetricSource; at: number; error: string }
  | { type: 'recovered'; source: MetricSource; at: number };

export interface AutoscalerDependencies {
  /** Where the replicas run (Compose or Swarm): counted, sampled and scaled through it. */
  backend: Pick<FleetBackend, 'scale' | 'replicaCounts' | 'cpuPercents' | 'resourceUsage'>;
  /** Reads custom metrics (custom_metric); the global fetch unless given. */
  fetchMetric?: MetricFetcher;
  /** Opens a broker admin; called again after any failure, so an outage ends with a fresh connection. */
  openBroker(): Promise<BrokerAdmin>;
  clock: Clock;
  signal: AbortSignal;
  onEvent(event: AutoscaleEvent): void;
  metrics?: AutoscaleMetrics;
}

export interface AutoscalerOptions {
  workers: WorkerService[];
  intervalMs: number;
  /** Decide and report, never scale. */
  dryRun?: boolean;
  /** One poll, then return. */
  once?: boolean;
}

interface ServiceState {
  worker: WorkerService;
  policy: AutoscalePolicy;
  history: AutoscaleHistory;
  /** The last samples obtained; their age decides whether they may still be used. */
  metrics: ServiceMetrics;
}

/**
 * The autoscaling loop: every interval, observe (queue statistics from the broker, live
 * replicas and CPU from the backend), decide (the pure `decide`), and scale through the backend,
 * whose scale-down stops workers with their grace period so they drain. An outage of either
 * source is reported once and survived: the samples grow stale, decisions hold, and the next
 * poll tries again. Returns when the signal aborts (or after one poll with `once`).
 */
export async function runAutoscaler(deps: AutoscalerDependencies, options: AutoscalerOptions): Promise<void> {
  const states: ServiceState[] = options.workers.map((worker) => ({ worker, policy: policyOf(worker), history: EMPTY_HISTORY, metrics: {} }));
  const down = new Set<MetricSource>();
  const reportHealth = (source: MetricSource, error?: unknown) => {
    const at = deps.clock.now();
    if (error === undefined) {
      if (down.delete(source)) deps.onEvent({ type: 'recovered', source, at });
    } else if (!down.has(source)) {
      down.add(source);
      deps.onEvent({ type: 'outage', source, at, error: messageOf(error) });
    }
  };
  let broker: BrokerAdmin | undefined;

  try {
    while (!deps.signal.aborted) {
      const started = deps.clock.now();

      // Observe. A failed source leaves its previous samples in place, to age.
      try {
        broker ??= await deps.openBroker();
        const stats = await broker.queueStats([...new Set(states.map((state) => state.worker.queue))]);
        const at = deps.clock.now();
        for (const state of states) state.metrics.queue = { ...queueSample(stats.get(state.worker.queue)), at };
        reportHealth('broker');
      } catch (error) {
        if (deps.signal.aborted) break;
        reportHealth('broker', error);
        const failed = broker;
        broker = undefined;
        await failed?.close().catch(() => {});
      }
      const [dockerResults, customResults] = await Promise.all([
        Promise.allSettled(states.map((state) => observeReplicas(deps, state))),
        Promise.allSettled(states.map((state) => observeCustomMetric(deps, state))),
      ]);
      const failureOf = (results: PromiseSettledResult<void>[]) => results.find((result): result is PromiseRejectedResult => result.status === 'rejected')?.reason;
      reportHealth('docker', failureOf(dockerResults));
      if (states.some((state) => state.policy.customMetric)) reportHealth('custom-metric', failureOf(customResults));

      // Decide.
      const now = deps.clock.now();
      const decisions = states.map((state) => {
        const decision = decide({ policy: state.policy, metrics: state.metrics, history: state.history, now });
        state.history = recordDecision(state.history, decision, now, state.policy);
        deps.metrics?.recordDecision(state.worker.name, state.worker.queue, decision);
        deps.onEvent({ type: 'decision', service: state.worker.name, queue: state.worker.queue, at: now, dryRun: Boolean(options.dryRun), decision });
        return decision;
      });

      // Execute.
      if (!options.dryRun) {
        await Promise.all(
          states.map(async (state, index) => {
            const decision = decisions[index];
            if (decision.direction === 'hold' || decision.desired === null || decision.current === null) return;
            try {
              await deps.backend.scale([{ worker: state.worker, desired: decision.desired }]);
              // The cooldown counts from the decision, however long the stop's grace period took.
              state.history = recordScale(state.history, decision.direction, now);
              deps.metrics?.recordScale(state.worker.name, decision.direction);
              deps.onEvent({ type: 'scaled', service: state.worker.name, from: decision.current, to: decision.desired, at: deps.clock.now(), elapsedMs: deps.clock.now() - now });
            } catch (error) {
              if (deps.signal.aborted || (isQscaleError(error) && error.code === 'ABORTED')) return;
              deps.onEvent({ type: 'scale-failed', service: state.worker.name, at: deps.clock.now(), error: messageOf(error) });
            }
          }),
        );
      }

      if (options.once || deps.signal.aborted) break;
      const wait = Math.max(0, options.intervalMs - (deps.clock.now() - started));
      try {
        await deps.clock.sleep(wait, deps.signal);
      } catch {
        break;
      }
    }
  } finally {
    await broker?.close().catch(() => {});
  }
}

async function observeReplicas(deps: AutoscalerDependencies, state: ServiceState): Promise<void> {
  const counts = await deps.backend.replicaCounts();
  state.metrics.replicas = { count: counts.get(state.worker.name)?.running ?? 0, at: deps.clock.now() };
  const { cpuTargetPercent, memoryTargetPercent } = state.policy;
  if (cpuTargetPercent === undefined && memoryTargetPercent === undefined) return;
  const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  if (memoryTargetPercent === undefined) {
    const percents = await deps.backend.cpuPercents(state.worker.name);
    if (percents.length > 0) state.metrics.cpu = { percent: average(percents), at: deps.clock.now() };
    return;
  }
  // One stats call per container gives both.
  const usage = await deps.backend.resourceUsage(state.worker.name);
  const at = deps.clock.now();
  if (usage.length > 0) state.metrics.cpu = { percent: average(usage.map((sample) => sample.cpuPercent)), at };
  const memory = usage.flatMap((sample) => (sample.memoryPercent !== undefined ? [sample.memoryPercent] : []));
  if (memory.length > 0) state.metrics.memory = { percent: average(memory), at };
}

/** The custom metric, when the policy has one; a failure leaves the last value to grow stale. */
async function observeCustomMetric(deps: AutoscalerDependencies, state: ServiceState): Promise<void> {
  const spec = state.policy.customMetric;
  if (!spec) return;
  const value = await readCustomMetric(spec, deps.fetchMetric ?? globalFetcher, deps.signal);
  state.metrics.custom = { value, at: deps.clock.now() };
}

/** A queue that does not exist (yet) has nothing waiting. */
function queueSample(stats: QueueStats | undefined): Omit<ServiceMetrics['queue'] & object, 'at'> {
  if (!stats) return { ready: 0, unacked: 0, consumers: 0, publishRate: 0, ackRate: 0 };
  return { ready: stats.ready, unacked: stats.unacked, consumers: stats.consumers, publishRate: stats.publishRate, ackRate: stats.ackRate };
}

function messageOf(error: unknown): string {
  if (error instanceof QscaleError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
