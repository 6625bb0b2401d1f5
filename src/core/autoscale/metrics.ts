import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Decision, Direction } from './decide.js';

/** The autoscaler's Prometheus metrics, in a registry of their own (no global state). */
export class AutoscaleMetrics {
  readonly registry = new Registry();
  private readonly queueDepth = new Gauge({
    name: 'qscale_queue_depth',
    help: 'Messages in the queue not yet acknowledged (ready + unacked)',
    labelNames: ['service', 'queue'],
    registers: [this.registry],
  });
  private readonly queueConsumers = new Gauge({ name: 'qscale_queue_consumers', help: 'Consumers of the queue', labelNames: ['service', 'queue'], registers: [this.registry] });
  private readonly desiredReplicas = new Gauge({ name: 'qscale_desired_replicas', help: 'Replicas the last decision asked for', labelNames: ['service'], registers: [this.registry] });
  private readonly currentReplicas = new Gauge({ name: 'qscale_current_replicas', help: 'Live replicas at the last decision', labelNames: ['service'], registers: [this.registry] });
  private readonly decisions = new Counter({
    name: 'qscale_autoscale_decisions_total',
    help: 'Autoscaler decisions by the rule that made them and their direction',
    labelNames: ['service', 'rule', 'direction'],
    registers: [this.registry],
  });
  private readonly scaleEvents = new Counter({
    name: 'qscale_scale_events_total',
    help: 'Scale operations the autoscaler carried out',
    labelNames: ['service', 'direction'],
    registers: [this.registry],
  });

  recordDecision(service: string, queue: string, decision: Decision): void {
    const { inputs } = decision;
    if (inputs.backlog !== undefined) this.queueDepth.set({ service, queue }, inputs.backlog);
    if (inputs.consumers !== undefined) this.queueConsumers.set({ service, queue }, inputs.consumers);
    if (decision.desired !== null) this.desiredReplicas.set({ service }, decision.desired);
    if (decision.current !== null) this.currentReplicas.set({ service }, decision.current);
    this.decisions.inc({ service, rule: decision.rule, direction: decision.direction });
  }

  recordScale(service: string, direction: Direction): void {
    this.scaleEvents.inc({ service, direction });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

export interface MetricsServer {
  /** The port it listens on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves GET /metrics on 127.0.0.1 only: the autoscaler's state is nobody else's business. */
export async function serveMetrics(metrics: AutoscaleMetrics, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '/').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
