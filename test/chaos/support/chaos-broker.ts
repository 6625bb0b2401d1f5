import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * The chaos suite's own RabbitMQ node (scripts/chaos-broker.sh): the faults below stop, kill and
 * alarm it, never the shared broker on 5672. Every figure a test asserts on is also read from this
 * node itself (`brokerQueueCounts`), not only from qscale's counters.
 */
export const CHAOS_NODE = 'qscale-chaos@localhost';
export const CHAOS_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5673';
export const CHAOS_MANAGEMENT_URL = 'http://127.0.0.1:15673';
const CHAOS_BROKER_DIR = process.env.QSCALE_CHAOS_BROKER_DIR ?? '/var/lib/qscale-chaos-broker';

const execFileAsync = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('rabbitmqctl', ['-n', CHAOS_NODE, '-q', ...args], { timeout: 60_000 });
  return stdout.trim();
}

/** `rabbitmqctl stop_app`: the node stays up, AMQP is gone; every connection is cut. */
export const stopApp = () => rabbitmqctl('stop_app');
export const startApp = () => rabbitmqctl('start_app');

/** SIGKILLs the broker's Erlang VM (no clean shutdown), then leaves it dead. */
export async function killBroker(): Promise<void> {
  const pid = readFileSync(`${CHAOS_BROKER_DIR}/pid`, 'utf8').trim();
  await execFileAsync('kill', ['-9', pid]);
  for (let i = 0; i < 50; i++) {
    try {
      await execFileAsync('kill', ['-0', pid]);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`broker process ${pid} still alive after SIGKILL`);
}

/** Starts the node again (after killBroker or a stop); resolves when AMQP answers. */
export async function startBroker(): Promise<void> {
  await execFileAsync('bash', ['scripts/chaos-broker.sh', 'start'], { timeout: 120_000 });
}

/** Force-closes every client connection whose name or client properties match `matching`. */
export async function closeConnections(matching: RegExp, reason = 'chaos test'): Promise<number> {
  const lines = (await rabbitmqctl('list_connections', 'pid', 'name', 'client_properties')).split('\n').filter(Boolean);
  const targets = lines.filter((line) => matching.test(line)).map((line) => line.split('\t')[0]);
  await Promise.all(targets.map((pid) => rabbitmqctl('close_connection', pid, reason).catch(() => {})));
  return targets.length;
}

/** Sets the memory high watermark (a fraction of RAM): a tiny value raises the memory alarm. */
export const setMemoryWatermark = (fraction: number) => rabbitmqctl('set_vm_memory_high_watermark', String(fraction));
export const DEFAULT_MEMORY_WATERMARK = 0.4;

export interface BrokerQueueCounts {
  ready: number;
  unacked: number;
  consumers: number;
}

/** A queue's counts as the broker itself reports them (rabbitmqctl); undefined when it does not exist. */
export async function brokerQueueCounts(queue: string): Promise<BrokerQueueCounts | undefined> {
  const lines = (await rabbitmqctl('list_queues', 'name', 'messages_ready', 'messages_unacknowledged', 'consumers')).split('\n');
  for (const line of lines) {
    const [name, ready, unacked, consumers] = line.split('\t');
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked), consumers: Number(consumers) };
  }
  return undefined;
}

/** Deletes queues by name; absent ones are fine. */
export async function deleteQueues(...queues: string[]): Promise<void> {
  for (const queue of queues) await rabbitmqctl('delete_queue', queue).catch(() => {});
}

/** One row of the table `make chaos` prints at the end. */
export interface FaultRow {
  fault: string;
  sent: number;
  lost: number;
  unconfirmed: number;
  recovered: number;
  duplicates: number;
  /** Seconds from the fault's end to the fleet consuming again (or the run's end), as measured. */
  recoverySeconds: number | null;
  /** Anything else worth a column: "dead-lettered 1", "blocked 20.1 s", … */
  note?: string;
}

export const FAULT_TABLE_FILE = 'build/chaos-faults.jsonl';

/** Adds a row to the fault table (printed by the chaos global teardown). */
export function recordFault(row: FaultRow): void {
  appendFileSync(FAULT_TABLE_FILE, `${JSON.stringify(row)}\n`);
}
