import { describe, expect, it } from 'vitest';
import { RabbitWorkerStateProbe } from '../../../src/adapters/rabbitmq/worker-state-probe.js';
import { describeWorkerState } from '../../../src/core/ports/worker-state.js';

describe('RabbitWorkerStateProbe', () => {
  it('never throws: an unreachable broker is a snapshot with no states and the reason, password masked', async () => {
    const probe = new RabbitWorkerStateProbe('amqp://guest:secret@127.0.0.1:1', { connectTimeoutMs: 500 });
    const snapshot = await probe.probe(['0123456789ab0000']);
    expect(snapshot.states.size).toBe(0);
    expect(snapshot.problem).toBe('broker unreachable at amqp://guest:***@127.0.0.1:1: ECONNREFUSED');
  });

  it('asks nobody when there is nobody to ask', async () => {
    const snapshot = await new RabbitWorkerStateProbe('amqp://guest:guest@127.0.0.1:1').probe([]);
    expect(snapshot).toEqual({ states: new Map() });
  });
});

describe('describeWorkerState', () => {
  it('reads as ps and the plan show it', () => {
    expect([undefined, { working: 0, held: 3, draining: false }, { working: 2, held: 5, draining: false }, { working: 1, held: 1, draining: true }].map(describeWorkerState)).toEqual(['?', 'idle', 'busy 2', 'draining']);
  });
});
