import type { ControlMessage, TaskMessage, TaskResult } from '../../../templates/worker/src/protocol.js';
import type { Clock } from '../../../src/core/clock.js';
import type { LoadTestPlan } from '../../../src/core/load-test/run-load-test.js';
import type { BrokerConnectionEvent, OnConfirm, QueueInfo, ResultDelivery, TaskBroker } from '../../../src/core/ports/task-broker.js';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * Discrete-event time: a timer fires only when everything else is idle (no pending microtasks),
 * and firing it moves `now` to its due time. No real waiting.
 */
export class FakeClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;
  private kicked = false;
  readonly sleeps: number[] = [];

  constructor(private time = 1_700_000_000_000) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = this.add(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        this.timers = this.timers.filter((candidate) => candidate !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fire` after `delayMs` of fake time. */
  schedule(delayMs: number, fire: () => void): void {
    this.add(delayMs, fire);
  }

  private add(delayMs: number, fire: () => void): Timer {
    const timer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fire };
    this.timers.push(timer);
    this.kick();
    return timer;
  }

  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (this.timers.length === 0) return;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const timer = this.timers.shift() as Timer;
      this.time = Math.max(this.time, timer.at);
      timer.fire();
      if (this.timers.length > 0) this.kick();
    });
  }
}

/** One result the fake worker sends back for a task, `delayMs` after it was published. */
export interface ScriptedResult {
  delayMs: number;
  outcome: TaskResult['outcome'];
  workerId?: string;
  redelivered?: boolean;
  processingMs?: number;
  error?: string;
  /** Replace the body entirely (malformed results). */
  body?: unknown;
}

export interface FakeTaskBrokerOptions {
  clock: FakeClock;
  /** What the fake workers answer for the n-th publish (0-based, republishes included). Default: one completion after 10 ms. */
  respond?: (task: TaskMessage, queue: string, n: number) => ScriptedResult[];
  /** Fake time until the broker confirms a publish; undefined: hold confirms until `releaseConfirms()`. */
  confirmDelayMs?: number | undefined;
  /** Whether the n-th publish fits the write buffer. */
  accepted?: (n: number) => boolean;
  /** Fake time until 'drain'. */
  drainDelayMs?: number;
  /** Publishes that the broker refuses (nack); a refused task never reaches the queue. */
  nack?: (n: number) => boolean;
  consumers?: (queue: string) => number;
  /** Messages already in a queue before the run (foreign backlog); purgeable. */
  backlog?: Record<string, number>;
  /** Publishes still unconfirmed at a `cut()` that never reached the queue (else they did). */
  lostInCut?: (n: number) => boolean;
  /** Whether the queue counts include unacked (a management URL is configured). Default: true. */
  unackedKnown?: boolean;
  /** Unacked counts the management API still reports per queue (its figures lag by seconds). */
  staleUnacked?: Record<string, number>;
}

interface QueuedTask {
  queue: string;
  /** Results not yet delivered: while any remain, the broker still holds the task. */
  remaining: number;
}

/**
 * An in-memory broker: tasks sit in their queue until their scripted results are all out; results
 * wait in the (durable) results queue while nobody consumes it; faults on demand: `cut()` closes
 * the connection (every held confirm fails as cut-off), `restore()` lets `reconnect()` succeed,
 * `block()`/`unblock()` raise and clear an alarm.
 */
export class FakeTaskBroker implements TaskBroker {
  readonly endpoint = 'amqp://guest:***@127.0.0.1:5672';
  readonly calls: string[] = [];
  readonly published: Array<{ queue: string; task: TaskMessage; replyTo: string }> = [];
  readonly controls: ControlMessage[] = [];
  readonly resultsQueueExpires: number[] = [];
  unconfirmed = 0;
  maxUnconfirmed = 0;
  /** Confirm callbacks called: must equal published.length once a run ends. */
  settledConfirms = 0;
  /** Publishes made while the write buffer was full: must stay 0. */
  publishedWhileFull = 0;
  down = false;
  reconnects = 0;
  private full = false;
  private drain?: Promise<void>;
  private held: Array<() => void> = [];
  private readonly keyOfSettle = new Map<() => void, { key: string; n: number }>();
  private subscriber?: (delivery: ResultDelivery) => void;
  private readonly undelivered: ResultDelivery[] = [];
  private listener: (event: BrokerConnectionEvent) => void = () => {};
  private readonly queued = new Map<string, QueuedTask>();
  private readonly backlog: Map<string, number>;
  private generation = 0;

  constructor(private readonly options: FakeTaskBrokerOptions) {
    this.backlog = new Map(Object.entries(options.backlog ?? {}));
  }

  onConnectionEvent(listener: (event: BrokerConnectionEvent) => void): void {
    this.listener = listener;
  }

  async reconnect(): Promise<void> {
    this.calls.push('reconnect');
    if (this.down) throw new Error('ECONNREFUSED');
    this.reconnects++;
  }

  /** The connection dies: confirms held or scheduled fail as cut-off, the subscription ends. */
  cut(reason = 'CONNECTION_FORCED'): void {
    this.down = true;
    this.generation++;
    this.subscriber = undefined;
    for (const settle of this.held) {
      const publish = this.keyOfSettle.get(settle);
      if (publish && this.options.lostInCut?.(publish.n)) this.queued.delete(publish.key);
    }
    this.releaseConfirms();
    this.listener({ type: 'lost', reason });
  }

  restore(): void {
    this.down = false;
  }

  block(): void {
    this.listener({ type: 'blocked', reason: 'low on memory' });
  }

  unblock(): void {
    this.listener({ type: 'unblocked' });
  }

  async ensureTaskQueue(queue: string) {
    this.calls.push(`ensureTaskQueue ${queue}`);
  }

  async createResultsQueue(queue: string, expiresMs: number) {
    this.calls.push(`createResultsQueue ${queue}`);
    this.resultsQueueExpires.push(expiresMs);
  }

  async deleteResultsQueue(queue: string) {
    this.calls.push(`deleteResultsQueue ${queue}`);
  }

  publishTask(queue: string, task: TaskMessage, replyTo: string, onConfirm: OnConfirm): boolean {
    const n = this.published.length;
    if (this.full) this.publishedWhileFull++;
    this.published.push({ queue, task, replyTo });
    this.unconfirmed++;
    this.maxUnconfirmed = Math.max(this.maxUnconfirmed, this.unconfirmed);
    const { clock } = this.options;
    const generation = this.generation;
    const refused = this.options.nack?.(n) === true;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.unconfirmed--;
      this.settledConfirms++;
      if (generation !== this.generation || this.down) onConfirm('cut-off');
      else if (refused) onConfirm('refused');
      else onConfirm();
    };
    if (this.down) {
      settle();
      return true;
    }
    this.keyOfSettle.set(settle, { key: `${task.id}#${n}`, n });
    if (this.options.confirmDelayMs === undefined) this.held.push(settle);
    else {
      this.held.push(settle);
      clock.schedule(this.options.confirmDelayMs, () => {
        this.held = this.held.filter((candidate) => candidate !== settle);
        settle();
      });
    }
    if (!refused) {
      const script = this.options.respond?.(task, queue, n) ?? [{ delayMs: 10, outcome: 'completed' as const }];
      const entry: QueuedTask = { queue, remaining: script.length };
      const key = `${task.id}#${n}`;
      if (script.length > 0) this.queued.set(key, entry);
      else this.queued.set(key, { queue, remaining: 1 });
      let attempt = 0;
      for (const step of script) {
        attempt++;
        const at = attempt;
        clock.schedule(step.delayMs, () => {
          if (!this.queued.has(key)) return;
          if (--entry.remaining === 0) this.queued.delete(key);
          const finishedAt = clock.now();
          const body: TaskResult = {
            taskId: task.id,
            run: task.run,
            queue,
            workerId: step.workerId ?? 'w1',
            startedAt: finishedAt - (step.processingMs ?? 5),
            finishedAt,
            attempt: at,
            redelivered: step.redelivered ?? false,
            outcome: step.outcome,
            ...(step.error ? { error: step.error } : {}),
          };
          const delivery = { body: 'body' in step ? step.body : body };
          if (this.subscriber) this.subscriber(delivery);
          else this.undelivered.push(delivery);
        });
      }
    }
    const accepted = this.options.accepted?.(n) ?? true;
    if (!accepted) {
      this.full = true;
      this.drain = new Promise((resolve) =>
        clock.schedule(this.options.drainDelayMs ?? 1, () => {
          this.full = false;
          this.drain = undefined;
          resolve();
        }),
      );
    }
    return accepted;
  }

  drained(): Promise<void> {
    return this.drain ?? Promise.resolve();
  }

  releaseConfirms(): void {
    const held = this.held;
    this.held = [];
    for (const settle of held) settle();
  }

  async consumeResults(queue: string, onResult: (delivery: ResultDelivery) => void) {
    this.calls.push(`consumeResults ${queue}`);
    if (this.down) throw new Error('connection closed');
    this.subscriber = onResult;
    // Results that arrived while nobody consumed waited in the durable results queue.
    for (const delivery of this.undelivered.splice(0)) onResult(delivery);
    return {
      cancel: async () => {
        this.calls.push(`cancel ${queue}`);
        this.subscriber = undefined;
      },
    };
  }

  /** Messages the broker holds in `queue`: foreign backlog plus this run's tasks still there. */
  holding(queue: string): number {
    let count = this.backlog.get(queue) ?? 0;
    for (const entry of this.queued.values()) if (entry.queue === queue) count++;
    return count;
  }

  async queueInfo(queue: string): Promise<QueueInfo | undefined> {
    if (this.down) throw new Error('connection closed');
    if (queue.endsWith('.quarantine')) return undefined;
    const info: QueueInfo = { ready: this.holding(queue), consumers: this.options.consumers?.(queue) ?? 1 };
    if (this.options.unackedKnown !== false) info.unacked = this.options.staleUnacked?.[queue] ?? 0;
    return info;
  }

  async purgeQueue(queue: string): Promise<number> {
    this.calls.push(`purgeQueue ${queue}`);
    const count = this.holding(queue);
    this.backlog.delete(queue);
    for (const [key, entry] of this.queued) if (entry.queue === queue) this.queued.delete(key);
    return count;
  }

  /** Workers that answer report-state; default: every consumer, each holding nothing unacked. */
  workerReplies?: number;

  async askWorkersHeld(_queues: string[], expectedReplies: number): Promise<{ replies: number; heldByQueue: Map<string, number> }> {
    this.calls.push(`askWorkersHeld ${expectedReplies}`);
    if (this.down) throw new Error('connection closed');
    return { replies: this.workerReplies ?? expectedReplies, heldByQueue: new Map() };
  }

  async publishControl(message: ControlMessage): Promise<void> {
    if (this.down) throw new Error('connection closed');
    this.controls.push(message);
  }

  async close() {
    this.calls.push('close');
  }
}

/** A load-test plan with plain defaults (one queue, no thresholds); a test overrides what it is about. */
export function loadTestPlan(overrides: Partial<LoadTestPlan> = {}): LoadTestPlan {
  return {
    runId: 'r1',
    queues: ['task_a'],
    tasksPerQueue: 20,
    payloadSize: 0,
    workMs: 10,
    failRate: 0,
    crashRate: 0,
    timeoutMs: 60_000,
    settleMs: 100,
    brokerTimeoutMs: 60_000,
    purge: false,
    requireConsumers: false,
    maxUnconfirmed: 1000,
    resultsQueue: 'qscale.results.r1',
    thresholds: [],
    ...overrides,
  };
}
