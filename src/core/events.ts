import type { Operation, ScalePlan } from './scale/plan.js';

/** What the core reports while it works. It never prints; the CLI renders these. */
export type FleetEvent =
  | { type: 'plan'; plan: ScalePlan }
  | { type: 'operation-started'; service: string; operation: Operation; at: number }
  | { type: 'operation-finished'; service: string; operation: Operation; at: number; elapsedMs: number }
  | { type: 'operation-failed'; service: string; operation: Operation; at: number; error: string }
  | { type: 'notice'; service?: string; message: string };

export type EventSink = (event: FleetEvent) => void;

export const ignoreEvents: EventSink = () => {};
