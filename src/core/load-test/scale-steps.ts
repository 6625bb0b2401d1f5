import type { WorkerService } from '../config/qscale-config.js';
import { QscaleError, throwIfAborted } from '../errors.js';
import type { FleetBackend } from '../backend/fleet-backend.js';
import { SCALE_STEPS_SCHEMA, scalingEfficiency, type LoadTestResult, type ScaleStepsResult } from './report.js';
import { runLoadTest, type LoadTestDependencies, type LoadTestPlan } from './run-load-test.js';

export interface ScaleStepsOptions {
  steps: number[];
  /** The services consuming the plan's queues; each is scaled to the step's count. */
  services: WorkerService[];
  /** How long to wait for the queues' consumer counts to match a step. */
  consumersTimeoutMs: number;
  pollIntervalMs?: number;
}

export type ScaleStepEvent =
  | { type: 'step'; workers: number; phase: 'scaling' | 'waiting-for-consumers' | 'running' }
  | { type: 'restoring'; counts: Record<string, number> };

/**
 * The same load at each worker count: scale the services, wait until the queues have the step's
 * consumers, run the load test. Restores the replica counts found at the start, also on failure.
 */
export async function runScaleSteps(
  deps: LoadTestDependencies & { backend: Pick<FleetBackend, 'scale'>; onStep?: (event: ScaleStepEvent) => void },
  plan: LoadTestPlan,
  options: ScaleStepsOptions,
): Promise<ScaleStepsResult> {
  const onStep = deps.onStep ?? (() => {});
  const steps: Array<{ workers: number; result: LoadTestResult }> = [];
  let original: Record<string, number> | undefined;
  const scaleTo = (count: (service: WorkerService) => number) => deps.backend.scale(options.services.map((worker) => ({ worker, desired: count(worker) })));
  try {
    for (const workers of options.steps) {
      throwIfAborted(deps.signal);
      onStep({ type: 'step', workers, phase: 'scaling' });
      const outcomes = await scaleTo(() => workers);
      // What the services ran before, within their limits (a service found below its minimum goes to it).
      original ??= Object.fromEntries(
        outcomes.map((outcome) => {
          const service = options.services.find((candidate) => candidate.name === outcome.service) as WorkerService;
          return [outcome.service, Math.min(service.maxReplicas, Math.max(service.minReplicas, outcome.before))];
        }),
      );
      onStep({ type: 'step', workers, phase: 'waiting-for-consumers' });
      await waitForConsumers(deps, plan.queues, options, workers);
      onStep({ type: 'step', workers, phase: 'running' });
      const result = await runLoadTest(deps, { ...plan, runId: `${plan.runId}-w${workers}`, resultsQueue: `${plan.resultsQueue}-w${workers}` });
      steps.push({ workers, result });
      // An interrupted step ends the steps: its partial result is the last one reported.
      if (result.outcome === 'interrupted') break;
    }
  } finally {
    if (original && !deps.signal?.aborted) {
      const counts = original;
      onStep({ type: 'restoring', counts });
      await scaleTo((service) => counts[service.name] ?? service.initialReplicas);
    }
  }
  return {
    schema: SCALE_STEPS_SCHEMA,
    runId: plan.runId,
    services: options.services.map((service) => service.name),
    steps,
    efficiency: scalingEfficiency(steps.map(({ workers, result }) => ({ workers, throughput: result.overall.throughput }))),
    passed: steps.every(({ result }) => result.passed),
    interrupted: steps.some(({ result }) => result.outcome === 'interrupted'),
  };
}

/** Each queue must show `workers` consumers per service consuming it. */
async function waitForConsumers(deps: LoadTestDependencies, queues: string[], options: ScaleStepsOptions, workers: number): Promise<void> {
  const deadline = deps.clock.now() + options.consumersTimeoutMs;
  const expected = (queue: string) => workers * options.services.filter((service) => service.queue === queue).length;
  for (;;) {
    throwIfAborted(deps.signal);
    const seen: string[] = [];
    for (const queue of queues) {
      const consumers = (await deps.broker.queueInfo(queue))?.consumers ?? 0;
      if (consumers !== expected(queue)) seen.push(`${queue} has ${consumers} consumers, expected ${expected(queue)}`);
    }
    if (seen.length === 0) return;
    if (deps.clock.now() >= deadline) {
      throw new QscaleError('DOCKER_FAILED', `after scaling to ${workers} workers: ${seen.join('; ')} after ${Math.round(options.consumersTimeoutMs / 1000)}s`, {
        hint: 'check the workers with `qscale ps` and their logs',
      });
    }
    await deps.clock.sleep(options.pollIntervalMs ?? 500, deps.signal);
  }
}
