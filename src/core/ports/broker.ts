/** What the core needs to know about queues. The RabbitMQ adapter implements it with amqplib. */
export interface QueueStats {
  queue: string;
  /** Messages waiting to be delivered. */
  ready: number;
  /** Delivered, not yet acknowledged; known only through the management API. */
  unacked?: number;
  consumers: number;
  /** Messages per second published to the queue; known only through the management API. */
  publishRate?: number;
  /** Messages per second its consumers acknowledge; known only through the management API. */
  ackRate?: number;
}

export interface BrokerAdmin {
  /** The broker URL with its password masked, for messages. */
  readonly endpoint: string;
  /** What the figures lack, one line each ("from the management API alone: AMQP at … unreachable"); absent when nothing. */
  readonly notes?: readonly string[];
  /** Statistics per queue; undefined for a queue that does not exist. */
  queueStats(queues: string[]): Promise<Map<string, QueueStats | undefined>>;
  close(): Promise<void>;
}
