import type { EventSink, FleetEvent } from '../../core/events.js';
import { describePlan } from '../../core/scale/plan.js';
import { describeServiceChange } from '../../core/swarm/plan-service-change.js';
import type { ScaleOutcome } from '../../core/scale/scale-service.js';
import type { Output } from '../output.js';

const DONE_WORD = { create: 'Created', start: 'Started', stop: 'Stopped', remove: 'Removed' } as const;
const BUSY_WORD = { create: 'Creating', start: 'Starting', stop: 'Stopping', remove: 'Removing' } as const;

export type ProgressMode = 'normal' | 'quiet' | 'dry-run';

/**
 * Renders the core's events the way Compose shows its progress: one line per container step, with
 * its time. Goes to stderr so --json output on stdout stays parseable.
 */
export function progressRenderer(out: Output, mode: ProgressMode): EventSink {
  const { color } = out;
  return (event: FleetEvent) => {
    if (mode === 'quiet' && event.type !== 'operation-failed') return;
    switch (event.type) {
      case 'plan':
        if (mode === 'dry-run') out.line(describePlan(event.plan));
        else if (event.plan.chains.length === 0) out.info(`${color.bold(event.plan.service)}: already at ${event.plan.desired}`);
        else out.info(`${color.bold(event.plan.service)}: ${event.plan.current} → ${event.plan.desired}`);
        return;
      case 'operation-started':
        if (event.operation.kind === 'stop') out.info(` ${color.yellow('…')} Container ${event.operation.containerName}  ${BUSY_WORD.stop}`);
        return;
      case 'operation-finished': {
        // Say why a container went when it was not the scale-down itself (a dead one replaced, a create undone).
        const why = event.operation.kind === 'remove' && /^(replace|remove created|interrupted)/.test(event.operation.cause) ? color.yellow(` (${event.operation.cause})`) : '';
        out.info(` ${color.green('✔')} Container ${event.operation.containerName}  ${DONE_WORD[event.operation.kind].padEnd(7)} ${color.dim(`${(event.elapsedMs / 1000).toFixed(1)}s`)}${why}`);
        return;
      }
      case 'operation-failed':
        out.info(` ${color.red('✘')} Container ${event.operation.containerName}  ${BUSY_WORD[event.operation.kind]} failed: ${event.error}`);
        return;
      case 'notice':
        out.info(`${event.service ? `${color.bold(event.service)}: ` : ''}${event.message}`);
        return;
      case 'dead-logs': {
        const heading = event.lines.length > 0 ? `last ${event.lines.length} log lines of ${event.container} (${event.state}):` : `${event.container} left no log lines`;
        out.info([`${color.bold(event.service)}: ${heading}`, ...event.lines.map((line) => `  | ${line}`)].join('\n'));
        return;
      }
      case 'service-change':
        if (mode === 'dry-run') out.line(describeServiceChange(event.change));
        else if (event.change.kind === 'none') out.info(`${color.bold(event.change.worker)}: already at ${event.change.after}`);
        else out.info(`${color.bold(event.change.worker)}: ${describeServiceChange(event.change)}`);
        return;
      case 'converging':
        out.info(` ${color.yellow('…')} Service ${event.service}  ${event.running}/${event.desired} tasks running${event.stopping > 0 ? `, ${event.stopping} stopping` : ''}`);
        return;
      case 'converged':
        out.info(` ${color.green('✔')} Service ${event.service}  ${event.running} running ${color.dim(`${(event.elapsedMs / 1000).toFixed(1)}s`)}`);
        return;
    }
  };
}

/** What a change that stopped part-way did and did not do, per service and container, and the resulting counts. */
export function renderIncompleteChange(out: Output, outcomes: ScaleOutcome[]): string {
  const { color } = out;
  const lines: string[] = [];
  for (const outcome of outcomes) {
    const wanted = outcome.desired === undefined ? '' : `, asked ${outcome.desired}`;
    const status = outcome.complete === false ? color.yellow('stopped part-way') : color.green('done');
    lines.push(`${color.bold(outcome.service)}: ${status}: ${outcome.after} running (was ${outcome.before}${wanted})`);
    // Each container once, by what happened to it in the end.
    const effects = new Map<string, string>();
    const kindsOf = new Map<string, Set<string>>();
    for (const operation of outcome.operations) kindsOf.set(operation.target, (kindsOf.get(operation.target) ?? new Set()).add(operation.kind));
    for (const [target, kinds] of kindsOf) {
      effects.set(
        target,
        kinds.has('start') ? 'started' : kinds.has('stop') ? (kinds.has('remove') ? 'stopped and removed' : 'stopped, not removed') : kinds.has('create') ? (kinds.has('remove') ? 'created and removed again' : 'created, not started') : 'removed',
      );
    }
    for (const operation of outcome.notDone ?? []) if (!effects.has(operation.target)) effects.set(operation.target, 'unchanged');
    for (const left of outcome.left ?? []) effects.set(left.target, `left ${left.state}`);
    const byEffect = new Map<string, string[]>();
    for (const [target, effect] of [...effects].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))) byEffect.set(effect, [...(byEffect.get(effect) ?? []), target]);
    for (const [effect, targets] of byEffect) {
      const text = `  ${effect}: ${targets.join(', ')}`;
      lines.push(effect.startsWith('left') || effect.endsWith('not removed') || effect.endsWith('not started') ? color.yellow(text) : text);
    }
    if (outcome.error) lines.push(color.red(`  ${outcome.error}`));
  }
  return lines.join('\n');
}
