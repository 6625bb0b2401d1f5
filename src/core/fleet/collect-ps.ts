import { LABEL, projectFilter } from '../compose-labels.js';
import type { Clock } from '../clock.js';
import type { ReplicaRow } from '../backend/fleet-backend.js';
import type { ContainerEngine } from '../ports/container-engine.js';
import { describeWorkerState, type WorkerStateProbe } from '../ports/worker-state.js';

/**
 * One row per container of the project, whoever created it, ordered by service and number. With
 * a probe, each running container's worker is asked what it is doing (one round trip).
 */
export async function collectContainers(engine: ContainerEngine, project: string, clock: Clock, services?: readonly string[], probe?: WorkerStateProbe): Promise<ReplicaRow[]> {
  const listed = await engine.listContainers(projectFilter(project));
  const selected = services?.length ? listed.filter((container) => services.includes(container.labels[LABEL.service])) : listed;
  const running = selected.filter((container) => container.state === 'running').map((container) => container.id);
  const [details, snapshot] = await Promise.all([
    Promise.all(selected.map(async (container) => ({ listed: container, detail: await engine.inspectContainer(container.id) }))),
    probe && running.length > 0 ? probe.probe(running) : undefined,
  ]);
  const now = clock.now();
  return details
    .filter((entry): entry is { listed: (typeof selected)[number]; detail: NonNullable<typeof entry.detail> } => entry.detail !== undefined)
    .map(({ listed: { status }, detail }): ReplicaRow => {
      const number = Number.parseInt(detail.labels[LABEL.containerNumber] ?? '', 10);
      const running = detail.state === 'running' && detail.startedAt !== undefined;
      return {
        name: detail.name,
        service: detail.labels[LABEL.service] ?? '',
        number: Number.isInteger(number) ? number : null,
        state: detail.state,
        desiredState: null,
        status,
        health: detail.health ?? null,
        image: detail.image,
        node: null,
        startedAt: detail.startedAt ? new Date(detail.startedAt).toISOString() : null,
        uptimeMs: running ? Math.max(0, now - detail.startedAt!) : null,
        exitCode: detail.state === 'exited' || detail.state === 'dead' ? (detail.exitCode ?? null) : null,
        error: null,
        createdBy: detail.labels[LABEL.specHash] ? 'qscale' : 'compose',
        work: snapshot && detail.state === 'running' ? describeWorkerState(snapshot.states.get(detail.id)) : null,
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || (a.number ?? 0) - (b.number ?? 0));
}
