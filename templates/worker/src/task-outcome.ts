import { ATTEMPT_HEADER, type TaskMessage, type TaskOutcome, type TaskResult } from './protocol.js';

/** The attempt a delivery is: the ATTEMPT_HEADER of a retried copy, else 1. */
export function attemptOf(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[ATTEMPT_HEADER]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** A success completes; a failure is retried until the attempt limit, then dead-lettered. */
export function outcomeOf(failed: boolean, attempt: number, maxAttempts: number): TaskOutcome {
  if (!failed) return 'completed';
  return attempt < maxAttempts ? 'retrying' : 'dead-lettered';
}

/** Parses a task body; undefined when it is not a JSON object with a string id. */
export function parseTask(body: Buffer): TaskMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const task = value as Partial<TaskMessage>;
  return typeof task.id === 'string' && task.id !== '' ? (task as TaskMessage) : undefined;
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
