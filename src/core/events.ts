import type { Operation, ScalePlan } from './scale/plan.js';
import type { ServiceChange } from './swarm/plan-service-change.js';

/** What the core reports while it works. It never prints; the CLI renders these. */
export type FleetEvent =
  | { type: 'plan'; plan: ScalePlan }
  | { type: 'operation-started'; service: string; operation: Operation; at: number }
  | { type: 'operation-finished'; service: string; operation: Operation; at: number; elapsedMs: number }
  | { type: 'operation-failed'; service: string; operation: Operation; at: number; error: string }
  | { type: 'notice'; service?: string; message: string }
  /** The last log lines of a dead container about to be replaced (its logs go with it); state: "exited", "dead"… */
  | { type: 'dead-logs'; service: string; container: string; state: string; lines: string[] }
  /** Swarm: the one service call that brings a service to its count (or that none is needed). */
  | { type: 'service-change'; change: ServiceChange }
  /** Swarm: tasks of a service running so far (and older ones still stopping), while waiting for them to match its count. */
  | { type: 'converging'; service: string; running: number; stopping: number; desired: number; at: number }
  | { type: 'converged'; service: string; running: number; at: number; elapsedMs: number };

export type EventSink = (event: FleetEvent) => void;

export const ignoreEvents: EventSink = () => {};
