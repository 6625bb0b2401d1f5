import type { Logger } from './log.js';
import type { ControlMessage, WorkerStateReport } from './protocol.js';

/** Load-test runs cancelled on the control exchange: their tasks are dropped until each one's `until`. */
export class RunCancellations {
  private readonly untilByRun = new Map<string, number>();

  cancel(run: string, until: number, now: number): void {
    this.untilByRun.set(run, Math.max(until, this.untilByRun.get(run) ?? 0));
    // Forget runs past their `until`: their tasks' deadlines have passed too.
    for (const [each, eachUntil] of this.untilByRun) if (eachUntil <= now) this.untilByRun.delete(each);
  }

  isCancelled(run: string | undefined, now: number): boolean {
    if (run === undefined) return false;
    const until = this.untilByRun.get(run);
    return until !== undefined && now < until;
  }
}

/** What the control handler needs of the worker. */
export interface ControlTarget {
  workerId: string;
  queue: string;
  cancellations: RunCancellations;
  /** Acks and drops the held, not yet started tasks of a cancelled run. */
  dropRun(run: string): void;
  /** Tasks started and not finished; every task held unacked. */
  state(): { working: number; held: number; draining: boolean };
  /** Sends a reply through the default exchange (replyTo may be a direct reply-to name). */
  reply(replyTo: string, body: Buffer, correlationId: string): void;
  now(): number;
  log: Logger;
}

/** Parses a control message; undefined (logged) when it is none we know. */
export function parseControlMessage(body: Buffer): ControlMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const message = value as Record<string, unknown>;
  if (message.type === 'cancel-run' && typeof message.run === 'string' && typeof message.until === 'number' && Number.isFinite(message.until)) {
    return { type: 'cancel-run', run: message.run, until: message.until };
  }
  if (message.type === 'report-state' && typeof message.requestId === 'string' && typeof message.replyTo === 'string' && message.replyTo !== '') {
    return { type: 'report-state', requestId: message.requestId, replyTo: message.replyTo };
  }
  return undefined;
}

/** RabbitMQ's direct reply-to pseudo-queue: the broker rewrites a request's replyTo property to a name of its own. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * Obeys one message from the control exchange. `replyToProperty` is the message's AMQP replyTo: a
 * requester using direct reply-to cannot know its generated name, so when the body names the bare
 * pseudo-queue, the property the broker rewrote is where the answer goes.
 */
export function handleControlMessage(body: Buffer, target: ControlTarget, replyToProperty?: string): void {
  const message = parseControlMessage(body);
  if (!message) {
    target.log.warn('ignoring an unknown control message', { body: body.toString('utf8').slice(0, 200) });
    return;
  }
  if (message.type === 'cancel-run') {
    target.cancellations.cancel(message.run, message.until, target.now());
    target.log.info('run cancelled: dropping its tasks', { run: message.run, until: new Date(message.until).toISOString() });
    target.dropRun(message.run);
    return;
  }
  const replyTo = message.replyTo === DIRECT_REPLY_TO ? replyToProperty : message.replyTo;
  // Publishing to the bare pseudo-queue is a channel error: it would cost the worker its connection.
  if (!replyTo || replyTo === DIRECT_REPLY_TO) {
    target.log.warn('report-state names direct reply-to without the broker-given name in its replyTo property; not answering', { requestId: message.requestId });
    return;
  }
  const report: WorkerStateReport = { type: 'worker-state', requestId: message.requestId, workerId: target.workerId, queue: target.queue, ...target.state(), at: target.now() };
  try {
    target.reply(replyTo, Buffer.from(JSON.stringify(report)), message.requestId);
  } catch (error) {
    target.log.warn('could not answer report-state', { replyTo, error: error instanceof Error ? error.message : String(error) });
  }
}
