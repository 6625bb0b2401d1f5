import type { TaskMessage, TaskResult } from '../../../templates/worker/src/protocol.js';
import type { Clock } from '../../../src/core/clock.js';
import type { OnConfirm, QueueInfo, ResultDelivery, TaskBroker } from '../../../src/core/ports/task-broker.js';

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
  /** Replace the body entirely (malformed results). */
  body?: unknown;
}

export interface FakeTaskBrokerOptions {
  clock: FakeClock;
  /** What the fake workers answer for the n-th task (0-based, in publish order). Default: one completion after 10 ms. */
  respond?: (task: TaskMessage, queue: string, n: number) => ScriptedResult[];
  /** Fake time until the broker confirms a publish; undefined: hold confirms until `releaseConfirms()`. */
  confirmDelayMs?: number | undefined;
  /** Whether the n-th publish fits the write buffer. */
  accepted?: (n: number) => boolean;
  /** Fake time until 'drain'. */
  drainDelayMs?: number;
  /** Tasks that the broker refuses (nack). */
  nack?: (n: number) => boolean;
  consumers?: (queue: string) => number;
}

export class FakeTaskBroker implements TaskBroker {
  readonly endpoint = 'amqp://guest:***@127.0.0.1:5672';
  readonly calls: string[] = [];
  readonly published: Array<{ queue: string; task: TaskMessage; replyTo: string }> = [];
  unconfirmed = 0;
  maxUnconfirmed = 0;
  /** Publishes made while the write buffer was full: must stay 0. */
  publishedWhileFull = 0;
  private full = false;
  private drain?: Promise<void>;
  private held: Array<() => void> = [];
  private subscriber?: (delivery: ResultDelivery) => void;
  private readonly queues = new Set<string>();

  constructor(private readonly options: FakeTaskBrokerOptions) {}

  async ensureTaskQueue(queue: string) {
    this.calls.push(`ensureTaskQueue ${queue}`);
    this.queues.add(queue);
  }

  async createResultsQueue(queue: string) {
    this.calls.push(`createResultsQueue ${queue}`);
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
    const settle = () => {
      this.unconfirmed--;
      if (this.options.nack?.(n)) onConfirm(new Error('nack'));
      else onConfirm();
    };
    if (this.options.confirmDelayMs === undefined) this.held.push(settle);
    else clock.schedule(this.options.confirmDelayMs, settle);
    if (!this.options.nack?.(n)) {
      const script = this.options.respond?.(task, queue, n) ?? [{ delayMs: 10, outcome: 'completed' as const }];
      let attempt = 0;
      for (const step of script) {
        attempt++;
        const at = attempt;
        clock.schedule(step.delayMs, () => {
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
          };
          this.subscriber?.({ body: 'body' in step ? step.body : body });
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
    this.subscriber = onResult;
    return {
      cancel: async () => {
        this.calls.push(`cancel ${queue}`);
        this.subscriber = undefined;
      },
    };
  }

  async queueInfo(queue: string): Promise<QueueInfo | undefined> {
    return { ready: 0, consumers: this.options.consumers?.(queue) ?? 1 };
  }

  async close() {
    this.calls.push('close');
  }
}
