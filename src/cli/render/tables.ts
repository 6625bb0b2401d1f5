import Table from 'cli-table3';
import { formatDuration } from '../../core/duration.js';
import type { ReplicaRow } from '../../core/backend/fleet-backend.js';
import type { FleetStatus } from '../../core/fleet/collect-status.js';
import type { Output } from '../output.js';

function table(out: Output, head: string[]): Table.Table {
  return new Table({
    head: head.map((title) => out.color.bold(title)),
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
  });
}

const FAILED_STATES = new Set(['exited', 'dead', 'failed', 'rejected', 'orphaned']);

/** One row per replica; Swarm's node, desired state and task error appear when there are any. */
export function renderReplicas(out: Output, rows: ReplicaRow[]): string {
  const { color } = out;
  const onNodes = rows.some((row) => row.node !== null);
  const withErrors = rows.some((row) => row.error);
  // What the workers say they do, when they were asked (Compose; not Swarm).
  const withWork = rows.some((row) => row.work != null);
  const head = ['NAME', 'SERVICE', '#', ...(onNodes ? ['NODE', 'DESIRED'] : []), 'STATE', ...(withWork ? ['WORK'] : []), 'HEALTH', 'UPTIME', 'STATUS', ...(withErrors ? ['ERROR'] : [])];
  const output = table(out, head);
  for (const row of rows) {
    const state = row.state === 'running' ? color.green(row.state) : FAILED_STATES.has(row.state) ? color.red(row.state) : color.yellow(row.state);
    const health = row.health === 'healthy' ? color.green(row.health) : row.health === 'unhealthy' ? color.red(row.health) : (row.health ?? '-');
    output.push([
      row.name,
      row.service,
      row.number ?? '-',
      ...(onNodes ? [row.node ?? '-', row.desiredState ?? '-'] : []),
      state,
      ...(withWork ? [row.work === 'idle' ? color.green(row.work) : (row.work ?? '-')] : []),
      health,
      row.uptimeMs === null ? '-' : formatDuration(row.uptimeMs),
      row.status,
      ...(withErrors ? [row.error ? color.red(row.error) : ''] : []),
    ]);
  }
  return rows.length === 0 ? 'no containers' : output.toString();
}

export function renderStatus(out: Output, status: FleetStatus): string {
  const { color } = out;
  const output = table(out, ['SERVICE', 'QUEUE', 'RUNNING', 'MIN..MAX', 'HEALTH', 'READY', 'UNACKED', 'CONSUMERS', 'DLQ']);
  for (const service of status.services) {
    const runningText = `${service.running}/${service.desired}`;
    const running = service.running < service.desired || service.running < service.min ? color.yellow(runningText) : color.green(runningText);
    const health = service.unhealthy > 0 ? color.red(`${service.unhealthy} unhealthy`) : service.healthy > 0 ? color.green(`${service.healthy} healthy`) : '-';
    const broker = service.broker;
    const absent = status.broker.reachable ? color.dim('no queue') : color.dim('n/a');
    output.push([
      service.service,
      service.queue,
      running,
      `${service.min}..${service.max}`,
      health,
      broker ? String(broker.ready) : absent,
      broker ? (broker.unacked === undefined ? '-' : String(broker.unacked)) : absent,
      broker ? String(broker.consumers) : absent,
      service.deadLettered === null ? '-' : service.deadLettered > 0 ? color.red(String(service.deadLettered)) : '0',
    ]);
  }
  const lines = [`project ${color.bold(status.project)}`, output.toString()];
  // The broker's own words name it (password masked): a missing vhost, refused credentials, no answer.
  if (!status.broker.reachable) lines.push(color.yellow(`broker: ${status.broker.error ?? `no answer from ${status.broker.endpoint}`}`));
  for (const note of status.broker.notes) lines.push(color.yellow(`broker: ${note}`));
  for (const warning of status.warnings) lines.push(color.yellow(`warning: ${warning}`));
  return lines.join('\n');
}
