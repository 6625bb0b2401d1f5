import type { Decision } from '../../core/autoscale/decide.js';
import type { AutoscaleEvent, MetricSource } from '../../core/autoscale/run-autoscaler.js';
import type { SimulationResult } from '../../core/autoscale/simulate.js';
import type { Output } from '../output.js';

type DecisionEvent = Extract<AutoscaleEvent, { type: 'decision' }>;

/** One decision as a JSON object: what `--json` prints, one per line. */
export function decisionJson(event: DecisionEvent) {
  const { decision } = event;
  return {
    time: new Date(event.at).toISOString(),
    service: event.service,
    queue: event.queue,
    dryRun: event.dryRun,
    current: decision.current,
    desired: decision.desired,
    recommendation: decision.recommendation,
    direction: decision.direction,
    rule: decision.rule,
    reason: decision.reason,
    cooldownRemainingMs: decision.cooldownRemainingMs,
    inputs: decision.inputs,
  };
}

/** One decision as a line: time, service, the change, the rule, why, and the inputs it saw. */
export function renderDecision(out: Output, event: DecisionEvent, width: number): string {
  const { decision } = event;
  const { color } = out;
  const time = color.dim(new Date(event.at).toISOString().slice(11, 19));
  const change = changeOf(decision);
  const painted = decision.direction === 'up' ? color.green(change) : decision.direction === 'down' ? color.yellow(change) : decision.rule === 'stale' ? color.red(change) : change;
  const inputs = describeInputs(decision);
  const dry = event.dryRun && decision.direction !== 'hold' ? color.cyan(' (dry run: not scaled)') : '';
  return `${time} ${event.service.padEnd(width)} ${painted.padEnd(change.length + Math.max(0, 10 - change.length))} ${color.bold(decision.rule)}: ${decision.reason}${dry}${inputs ? color.dim(` [${inputs}]`) : ''}`;
}

function changeOf(decision: Decision): string {
  if (decision.current === null) return 'hold ?';
  if (decision.direction === 'hold') return `hold ${decision.current}`;
  return `${decision.current} → ${decision.desired}`;
}

function describeInputs(decision: Decision): string {
  const { inputs, cooldownRemainingMs } = decision;
  const parts: string[] = [];
  if (inputs.consumers !== undefined) parts.push(`consumers ${inputs.consumers}`);
  if (inputs.cpuPercent !== undefined) parts.push(`cpu ${inputs.cpuPercent.toFixed(0)}%`);
  if (inputs.publishRate !== undefined) parts.push(`in ${inputs.publishRate.toFixed(1)}/s`);
  if (inputs.ackRate !== undefined) parts.push(`acked ${inputs.ackRate.toFixed(1)}/s`);
  if (inputs.serviceRate !== undefined) parts.push(`${inputs.serviceRate.toFixed(1)}/s per worker`);
  if (inputs.metricsAgeMs !== undefined) parts.push(`age ${(inputs.metricsAgeMs / 1000).toFixed(1)}s`);
  parts.push(`cooldown up ${(cooldownRemainingMs.up / 1000).toFixed(0)}s down ${(cooldownRemainingMs.down / 1000).toFixed(0)}s`);
  return parts.join(', ');
}

/** Everything but decisions: scale results and outages, for stderr. */
export function renderAutoscaleNotice(event: Exclude<AutoscaleEvent, DecisionEvent>): string {
  switch (event.type) {
    case 'scaled':
      return `${event.service}: scaled ${event.from} → ${event.to} in ${(event.elapsedMs / 1000).toFixed(1)}s`;
    case 'scale-failed':
      return `${event.service}: scaling failed, will decide again: ${event.error}`;
    case 'outage':
      return `${SOURCE_NAMES[event.source]} unavailable, holding until it answers: ${event.error}`;
    case 'recovered':
      return `${SOURCE_NAMES[event.source]} answers again`;
  }
}

const SIM_COLUMNS = ['time_s', 'arrival_rate', 'replicas', 'active', 'backlog', 'latency_s', 'direction', 'rule'] as const;

export function simulationCsv(result: SimulationResult): string {
  const rows = result.steps.map((step) =>
    [step.timeS, step.arrivalRate, step.replicas, step.active, step.backlog, step.latencyS ?? '', step.direction, step.rule].join(','),
  );
  return `${SIM_COLUMNS.join(',')}\n${rows.join('\n')}\n`;
}

/** The simulation as a table of steps and its totals. */
export function renderSimulation(out: Output, result: SimulationResult, title: string): string {
  const { color } = out;
  const header = ['time', 'tasks/s', 'replicas', 'active', 'backlog', 'latency', 'decision'];
  const rows = result.steps.map((step) => [
    `${step.timeS}s`,
    String(step.arrivalRate),
    String(step.replicas),
    String(step.active),
    String(step.backlog),
    step.latencyS === null ? '∞' : `${step.latencyS}s`,
    step.direction === 'hold' ? `hold (${step.rule})` : `${step.direction} (${step.rule})`,
  ]);
  const widths = header.map((name, column) => Math.max(name.length, ...rows.map((row) => row[column].length)));
  const format = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padStart(widths[column]))).join('  ');
  const { totals, settings } = result;
  return [
    color.bold(title),
    color.dim(
      `service rate ${settings.serviceRatePerWorker}/s per worker, start-up ${settings.startupDelayS}s, interval ${settings.intervalS}s, ${settings.minReplicas}..${settings.maxReplicas} replicas, latency target ${settings.latencyTargetS}s`,
    ),
    color.bold(format(header)),
    ...rows.map(format),
    '',
    `duration ${totals.durationS}s · arrived ${totals.arrived} · processed ${totals.processed} · final backlog ${totals.finalBacklog}`,
    `worker-seconds ${totals.workerSeconds} · peak replicas ${totals.peakReplicas} · peak backlog ${totals.peakBacklog} · time over latency target ${totals.timeOverLatencyTargetS}s · scale-ups ${totals.scaleUps}, scale-downs ${totals.scaleDowns}`,
    `scale events ${round1(totals.scaleEventsPerHour)}/h · reversals within 60s ${totals.reversalsWithin60s} · peak replicas ${totals.peakReplicas} vs peak need ${totals.peakNeed} · worker-seconds ${totals.workerSecondsRatio.toFixed(2)}× the minimum need (${totals.minimumNeedWorkerSeconds})`,
  ].join('\n');
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

const SOURCE_NAMES: Record<MetricSource, string> = { broker: 'broker', docker: 'Docker', 'custom-metric': 'custom metric' };
