import type { ChalkInstance } from 'chalk';
import type { FleetStatus } from '../../core/fleet/collect-status.js';

/** An SGR sequence (colour, bold) at the start of a string: it takes no room on the screen. */
const SGR_AT_START = /^\x1b\[[0-9;]*m/;

/**
 * The frame's lines, each cut to fit `columns` (less one, so no terminal wraps it): a frame
 * redrawn in place moves up over exactly the lines it printed, at any width.
 */
export function fitLines(text: string, columns: number): string[] {
  const width = Math.max(columns - 1, 1);
  return text.split('\n').map((line) => truncateVisible(line, width));
}

/** Cuts a line to `width` visible characters, ending it with … and a colour reset when cut. */
export function truncateVisible(line: string, width: number): string {
  let visible = 0;
  let result = '';
  let coloured = false;
  for (let index = 0; index < line.length; ) {
    const sgr = SGR_AT_START.exec(line.slice(index));
    if (sgr) {
      result += sgr[0];
      coloured = true;
      index += sgr[0].length;
      continue;
    }
    const char = String.fromCodePoint(line.codePointAt(index) as number);
    if (visible === width - 1 && visibleLength(line.slice(index)) > 1) return `${result}…${coloured ? '\x1b[0m' : ''}`;
    result += char;
    visible++;
    index += char.length;
  }
  return result;
}

function visibleLength(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** Values as bars from 0 (▁) to the largest (█); all zero is flat. */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((value) => BLOCKS[max === 0 ? 0 : Math.min(BLOCKS.length - 1, Math.round((Math.max(value, 0) / max) * (BLOCKS.length - 1)))]).join('');
}

/** The last samples of each queue's backlog (ready messages), for `status --watch`. */
export class BacklogHistory {
  private readonly samples = new Map<string, number[]>();

  constructor(private readonly size = 20) {}

  /** One sample per queue the broker answered for; a queue it did not is left as it was. */
  record(status: FleetStatus): void {
    for (const service of status.services) {
      if (!service.broker) continue;
      const values = this.samples.get(service.queue) ?? [];
      values.push(service.broker.ready);
      if (values.length > this.size) values.shift();
      this.samples.set(service.queue, values);
    }
  }

  /** `backlog  task_a  ▁▂▅█  120`, one line per queue with samples, in the status's order. */
  render(status: FleetStatus, color: ChalkInstance): string[] {
    const queues = [...new Set(status.services.map((service) => service.queue))].filter((queue) => this.samples.has(queue));
    const nameWidth = Math.max(0, ...queues.map((queue) => queue.length));
    return queues.map((queue) => {
      const values = this.samples.get(queue) as number[];
      return `${color.dim('backlog')}  ${queue.padEnd(nameWidth)}  ${color.cyan(sparkline(values).padEnd(this.size))}  ${values[values.length - 1]}`;
    });
  }
}
