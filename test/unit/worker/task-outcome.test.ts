import { describe, expect, it } from 'vitest';
import { ATTEMPT_HEADER } from '../../../templates/worker/src/protocol.js';
import { attemptOf, buildResult, outcomeOf, parseTask } from '../../../templates/worker/src/task-outcome.js';

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
