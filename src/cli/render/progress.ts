import type { EventSink, FleetEvent } from '../../core/events.js';
import { describePlan } from '../../core/scale/plan.js';
import { describeServiceChange } from '../../core/swarm/plan-service-change.js';
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
        // Say why a container went when it was not the scale-down itself (a dead one replaced).
        const why = event.operation.kind === 'remove' && event.operation.cause.startsWith('replace') ? color.yellow(` (${event.operation.cause})`) : '';
        out.info(` ${color.green('✔')} Container ${event.operation.containerName}  ${DONE_WORD[event.operation.kind].padEnd(7)} ${color.dim(`${(event.elapsedMs / 1000).toFixed(1)}s`)}${why}`);
        return;
      }
      case 'operation-failed':
        out.info(` ${color.red('✘')} Container ${event.operation.containerName}  ${BUSY_WORD[event.operation.kind]} failed: ${event.error}`);
        return;
      case 'notice':
        out.info(`${event.service ? `${color.bold(event.service)}: ` : ''}${event.message}`);
        return;
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
