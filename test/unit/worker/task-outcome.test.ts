import { describe, expect, it } from 'vitest';
import { ABANDONED_HEADER, ATTEMPT_HEADER, INTERRUPTED_HEADER } from '../../../templates/worker/src/protocol.js';
import { abandonedOf, attemptOf, buildResult, interruptedOf, outcomeOf, parseTask, parseTaskBody } from '../../../templates/worker/src/task-outcome.js';

describe('outcomeOf', () => {
  it.each([
    [false, 1, 3, 'completed'],
    [false, 3, 3, 'completed'],
    [true, 1, 3, 'retrying'],
    [true, 2, 3, 'retrying'],
    [true, 3, 3, 'dead-lettered'],
    [true, 4, 3, 'dead-lettered'],
    [true, 1, 1, 'dead-lettered'],
  ] as const)('failed=%s attempt %i of %i → %s', (failed, attempt, max, expected) => {
    expect(outcomeOf(failed, attempt, max)).toBe(expected);
  });
});

describe('attemptOf', () => {
  it.each([
    [undefined, 1],
    [{}, 1],
    [{ [ATTEMPT_HEADER]: 2 }, 2],
    [{ [ATTEMPT_HEADER]: '3' }, 3],
    [{ [ATTEMPT_HEADER]: 0 }, 1],
    [{ [ATTEMPT_HEADER]: 'x' }, 1],
  ])('%j → %i', (headers, expected) => {
    expect(attemptOf(headers)).toBe(expected);
  });
});

describe('abandonedOf and interruptedOf', () => {
  it.each([
    [undefined, 0],
    [{}, 0],
    [{ [ABANDONED_HEADER]: 2, [INTERRUPTED_HEADER]: 2 }, 2],
    [{ [ABANDONED_HEADER]: '1', [INTERRUPTED_HEADER]: '1' }, 1],
    [{ [ABANDONED_HEADER]: -1, [INTERRUPTED_HEADER]: -1 }, 0],
    [{ [ABANDONED_HEADER]: 'x', [INTERRUPTED_HEADER]: 1.5 }, 0],
  ])('%j → %i', (headers, expected) => {
    expect(abandonedOf(headers)).toBe(expected);
    expect(interruptedOf(headers)).toBe(expected);
  });
});

describe('parseTaskBody', () => {
  it.each([
    ['', 'malformed task: empty body'],
    ['{', 'malformed task: not JSON (1 byte)'],
    ['[]', 'malformed task: not a JSON object with an id'],
    ['{"id":""}', 'malformed task: not a JSON object with an id'],
  ])('%j → %s', (body, reason) => {
    expect(parseTaskBody(Buffer.from(body))).toBe(reason);
  });
});

describe('parseTask', () => {
  it('accepts a JSON object with an id, and nothing else', () => {
    expect(parseTask(Buffer.from('{"id":"t1","sentAt":5}'))).toEqual({ id: 't1', sentAt: 5 });
    for (const body of ['not json', '[]', 'null', '"t1"', '{"sentAt":5}', '{"id":""}', '{"id":7}']) {
      expect(parseTask(Buffer.from(body)), body).toBeUndefined();
    }
  });
});

describe('buildResult', () => {
  it('omits run and error when absent', () => {
    const facts = { taskId: 't', queue: 'q', workerId: 'w', startedAt: 1, finishedAt: 2, attempt: 1, redelivered: false, outcome: 'completed' as const };
    expect(Object.keys(buildResult(facts)).sort()).toEqual(['attempt', 'finishedAt', 'outcome', 'queue', 'redelivered', 'startedAt', 'taskId', 'workerId']);
    expect(buildResult({ ...facts, run: 'r', error: 'boom' })).toMatchObject({ run: 'r', error: 'boom' });
  });
});
