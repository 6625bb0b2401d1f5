import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeProject } from '../support/fixtures.js';
import { docker, execFileAsync, qscale, removeProjectContainers, uniqueName } from './support/real-cli.js';

// Version "2.4" so that docker-compose v1 accepts the file. The worker stand-in exits at once on SIGTERM.
const COMPOSE = `version: "2.4"
services:
  worker:
    image: qscale/node-base:local
    network_mode: host
    init: true
    stop_grace_period: 5s
    command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"]
`;

const project = uniqueName('it-scale-race');
const config = `project:
  name: ${project}
workers:
  worker:
    queue: q_race
    min_replicas: 0
    max_replicas: 6
`;

let dir: string;

interface Container {
  state: string;
  number: string;
}

async function containers(): Promise<Container[]> {
  const out = await docker('ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.State}} {{.Label "com.docker.compose.container-number"}}');
  return out ? out.split('\n').map((line) => ({ state: line.split(' ')[0], number: line.split(' ')[1] })) : [];
}

/** No created or exited container left, and no number twice; returns how many run. */
async function expectCleanFleet(context: string): Promise<number> {
  const fleet = await containers();
  expect({ context, states: fleet.filter((container) => container.state !== 'running') }).toEqual({ context, states: [] });
  const numbers = fleet.map((container) => container.number).sort();
  expect({ context, numbers }).toEqual({ context, numbers: [...new Set(numbers)] });
  return fleet.length;
}

beforeAll(() => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': config });
});

afterAll(async () => {
  await removeProjectContainers(project);
});

describe('scaling races with other processes', () => {
  it('qscale scale 4 against qscale scale 1, 20 times: the count is one asked for, by a run that said it succeeded', async () => {
    const outcomes: string[] = [];
    for (let iteration = 1; iteration <= 20; iteration++) {
      const [up, down] = await Promise.all([qscale(dir, 'scale', 'worker', '4'), qscale(dir, 'scale', 'worker', '1')]);
      const running = await expectCleanFleet(`iteration ${iteration}`);
      if (![1, 4].includes(running)) console.log(`iteration ${iteration}: ${running} running\nscale 4 (exit ${up.code}):\n${up.stderr}\nscale 1 (exit ${down.code}):\n${down.stderr}`);
      expect([1, 4]).toContain(running);
      // With the per-service lock the two runs take turns: both succeed, and the count is the later one's.
      expect([up.code, down.code]).toEqual([0, 0]);
      for (const run of [up, down]) {
        // A failure says why in one line; success means the run saw its count confirmed.
        if (run.code !== 0) {
          console.log(`iteration ${iteration}: exit ${run.code}\n${run.stderr}`);
          expect(run.stderr).toMatch(/^error: worker: .+/m);
        }
        expect([0, 1]).toContain(run.code);
      }
      const succeeded = [up.code === 0 ? 4 : undefined, down.code === 0 ? 1 : undefined].filter((count) => count !== undefined);
      if (succeeded.length > 0) expect(succeeded).toContain(running);
      outcomes.push(`${up.code}/${down.code}→${running}`);
    }
    console.log(`scale 4 vs scale 1 (exit codes → running): ${outcomes.join(' ')}`);
  }, 240_000);

  it('qscale scale 3 against docker-compose up -d --scale worker=2: one of the asked counts, clean, truthful', async () => {
    const outcomes: string[] = [];
    for (let iteration = 1; iteration <= 5; iteration++) {
      await removeProjectContainers(project);
      if (iteration % 2 === 0) await qscale(dir, 'scale', 'worker', '1');
      const compose = execFileAsync('docker-compose', ['-f', `${dir}/docker-compose.yml`, '-p', project, 'up', '-d', '--scale', 'worker=2', 'worker'], { timeout: 120_000 }).then(
        () => 0,
        (error: { code?: number; stderr?: string }) => {
          console.log(`docker-compose failed: ${error.stderr}`);
          return error.code ?? 1;
        },
      );
      // docker-compose (v1, Python) takes about a second to start acting: qscale starts before it, alongside it, or after it.
      const delayMs = [0, 700, 1200, 1600, 2500][iteration - 1];
      const ours = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => qscale(dir, 'scale', 'worker', '3'));
      const [oursResult, theirs] = await Promise.all([ours, compose]);
      const qscaleRun = oursResult;
      // Whoever finished last decided the count; a second qscale run then confirms it converges.
      const running = await expectCleanFleet(`iteration ${iteration}`);
      expect([2, 3]).toContain(running);
      if (qscaleRun.code !== 0) expect(qscaleRun.stderr).toMatch(/^error: worker: .+/m);
      // qscale's exit 0 says it saw 3 running at its end; if it finished after compose, 3 stand.
      if (qscaleRun.code === 0 && running !== 3) expect(theirs).toBe(0);
      outcomes.push(`+${delayMs}ms ${qscaleRun.code}/${theirs}→${running}`);
    }
    console.log(`scale 3 vs docker-compose --scale worker=2 (exit codes → running): ${outcomes.join(' ')}`);
  }, 300_000);
});
