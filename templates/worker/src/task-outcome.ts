import { ABANDONED_HEADER, ATTEMPT_HEADER, INTERRUPTED_HEADER, type TaskMessage, type TaskOutcome, type TaskResult } from './protocol.js';

/** The attempt a delivery is: the ATTEMPT_HEADER of a retried copy, else 1. */
export function attemptOf(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[ATTEMPT_HEADER]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** Deliveries of a task that ended with no outcome (their worker died): the ABANDONED_HEADER, else 0. */
export function abandonedOf(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[ABANDONED_HEADER]);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** Deliveries of a task its worker handed back unfinished when its drain ran out of time: the INTERRUPTED_HEADER, else 0. */
export function interruptedOf(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[INTERRUPTED_HEADER]);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** A success completes; a failure is retried until the attempt limit, then dead-lettered. */
export function outcomeOf(failed: boolean, attempt: number, maxAttempts: number): TaskOutcome {
  if (!failed) return 'completed';
  return attempt < maxAttempts ? 'retrying' : 'dead-lettered';
}

/** Parses a task body; undefined when it is not a JSON object with a string id. */
export function parseTask(body: Buffer): TaskMessage | undefined {
  const parsed = parseTaskBody(body);
  return typeof parsed === 'string' ? undefined : parsed;
}

/** Parses a task body: the task, or why it is malformed (a line for the log and the dead-letter header). */
export function parseTaskBody(body: Buffer): TaskMessage | string {
  if (body.length === 0) return 'malformed task: empty body';
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return `malformed task: not JSON (${body.length} byte${body.length === 1 ? '' : 's'})`;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'malformed task: not a JSON object with an id';
  const task = value as Partial<TaskMessage>;
  return typeof task.id === 'string' && task.id !== '' ? (task as TaskMessage) : 'malformed task: not a JSON object with an id';
}

/** What one attempt came to: the result's fields, optional ones possibly undefined. */
export type AttemptFacts = TaskResult;

export function buildResult(facts: AttemptFacts): TaskResult {
  const result: TaskResult = {
    taskId: facts.taskId,
    queue: facts.queue,
    workerId: facts.workerId,
    startedAt: facts.startedAt,
    finishedAt: facts.finishedAt,
    attempt: facts.attempt,
    redelivered: facts.redelivered,
    outcome: facts.outcome,
  };
  if (facts.run !== undefined) result.run = facts.run;
  if (facts.error !== undefined) result.error = facts.error;
  return result;
}
