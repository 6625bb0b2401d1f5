import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { realDependencies } from '../../src/cli/dependencies.js';
import { CapturedStream } from '../support/cli-harness.js';
import { writeProject } from '../support/fixtures.js';
import { docker, removeProjectContainers, uniqueName } from './support/real-cli.js';

// A chatty worker stand-in: a line on stdout every 100 ms, every third one also on stderr.
const CHATTY = "let n = 0; setInterval(() => { n++; console.log('tick ' + n); if (n % 3 === 0) console.error('warn ' + n); }, 100)";

const project = uniqueName('it-logs');
const COMPOSE = `services:
  svc:
    image: qscale/node-base:local
    network_mode: host
    command: ["node", "-e", ${JSON.stringify(CHATTY)}]
  other:
    image: qscale/node-base:local
    network_mode: host
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
`;
const CONFIG = `project:
  name: ${project}
workers:
  svc:
    queue: q_svc
  other:
    queue: q_other
`;

let dir: string;

/** Starts a replica the way a scale-up does: Compose's labels, Compose's name, host networking. */
async function startReplica(service: string, number: number, script: string, extra: string[] = []): Promise<string> {
  return docker(
    'run', '-d', '--network', 'host',
    '--name', `${project}-${service}-${number}`,
    '--label', `com.docker.compose.project=${project}`,
    '--label', `com.docker.compose.service=${service}`,
    '--label', `com.docker.compose.container-number=${number}`,
    '--label', 'com.docker.compose.oneoff=False',
    ...extra,
    'qscale/node-base:local', 'node', '-e', script,
  );
}

/** Runs a long-lived command in-process; the test ends it with `stop()` (Ctrl-C). */
function runLive(...args: string[]) {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const controller = new AbortController();
  const exit = main(['node', 'qscale', ...args], { ...realDependencies(), cwd: dir, stdout, stderr }, controller.signal);
  return {
    stdout,
    stderr,
    exit,
    stop: () => {
      controller.abort(new Error('interrupted'));
      return exit;
    },
  };
}

/** Polls until `check` holds; returns how long that took. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  dir = writeProject({ 'docker-compose.yml': COMPOSE, 'test-config.yml': CONFIG });
  await removeProjectContainers(project);
});

afterAll(async () => {
  await removeProjectContainers(project);
});

describe('qscale logs --follow against the real engine', () => {
  it('attaches a replica started later within 2 s, shows both streams whole, announces its death and removal', async () => {
    await startReplica('svc', 1, CHATTY);
    await startReplica('other', 1, "setInterval(() => console.log('not svc'), 100)");
    const run = runLive('logs', '--follow', 'svc');
    try {
      await waitFor('the first replica\'s output', () => /^svc-1 \| tick \d+$/m.test(run.stdout.text));
      await waitFor('its stderr', () => /^svc-1 \| warn \d+$/m.test(run.stdout.text));

      await startReplica('svc', 2, CHATTY);
      const attachMs = await waitFor('the new replica\'s output', () => /^svc-2 \| tick \d+$/m.test(run.stdout.text));
      expect(attachMs).toBeLessThan(2000);
      await waitFor('a few more lines of svc-2', () => (run.stdout.text.match(/^svc-2 \| tick/gm) ?? []).length > 4);

      await docker('kill', `${project}-svc-2`);
      await waitFor('the death notice', () => run.stderr.text.includes('svc-2 exited with code 137'));
      await waitFor('the detach notice', () => run.stderr.text.includes('svc-2 detached'));
      await docker('rm', `${project}-svc-2`);
      await waitFor('the removal notice', () => run.stderr.text.includes('svc-2 removed'));

      // svc-1 keeps going after svc-2 is gone.
      const linesBefore = run.stdout.text.split('\n').filter((line) => line.startsWith('svc-1')).length;
      await waitFor('more of svc-1', () => run.stdout.text.split('\n').filter((line) => line.startsWith('svc-1')).length > linesBefore + 3);
    } finally {
      expect(await run.stop()).toBe(130);
    }
    const lines = run.stdout.text.split('\n').filter(Boolean);
    // Whole lines only, names padded to one column, nothing from the other service.
    for (const line of lines) expect(line).toMatch(/^svc-[12] \| (tick|warn) \d+$/);
    for (const replica of ['svc-1', 'svc-2']) {
      const ticks = lines.filter((line) => line.startsWith(`${replica} | tick`)).map((line) => Number(line.split(' ').at(-1)));
      expect(ticks.length).toBeGreaterThan(3);
      // In order and without gaps: nothing lost or repeated across the attach.
      expect(ticks).toEqual(Array.from({ length: ticks.length }, (_, index) => ticks[0] + index));
    }
    expect(run.stdout.text.endsWith('\n')).toBe(true);
  });

  it('ends promptly on Ctrl-C with no container to follow', async () => {
    const run = runLive('logs', '--follow', 'other', '--json');
    await waitFor('a line from other', () => run.stdout.text.includes('not svc'));
    const started = Date.now();
    expect(await run.stop()).toBe(130);
    expect(Date.now() - started).toBeLessThan(2000);
    const first = JSON.parse(run.stdout.text.split('\n')[0]);
    expect(first).toEqual({ container: `${project}-other-1`, service: 'other', number: 1, stream: 'stdout', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/), message: 'not svc' });
  });
});

describe('qscale logs without --follow', () => {
  it('prints the last lines of each container, TTY or not, and exits 0', async () => {
    // Pauses between the streams: the engine reads stdout and stderr through separate pipes, so only time orders them.
    const printer = "console.log('one'); console.log('two'); setTimeout(() => { console.error('three on stderr'); setTimeout(() => process.stdout.write('four, unfinished'), 150); }, 150)";
    const plain = await startReplica('svc', 7, printer);
    const tty = await startReplica('svc', 8, printer, ['-t']);
    await docker('wait', plain, tty);
    const run = runLive('logs', '--tail', '3', '--no-color', 'svc');
    expect(await run.exit).toBe(0);
    const lines = run.stdout.text.split('\n');
    for (const replica of ['svc-7', 'svc-8']) {
      expect(lines.filter((line) => line.startsWith(`${replica} `))).toEqual([`${replica} | two`, `${replica} | three on stderr`, `${replica} | four, unfinished`]);
    }
  });

  it('refuses an unknown service and a malformed --since with a usage error', async () => {
    const unknown = runLive('logs', 'nope');
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr.text).toContain('unknown service "nope"');
    const since = runLive('logs', '--since', 'yesterday');
    expect(await since.exit).toBe(2);
    expect(since.stderr.text).toContain('--since: "yesterday" is not a duration (10m, 1h30m), a time (2024-05-01T10:00:00Z) or Unix seconds');
  });
});

describe('qscale events against the real engine', () => {
  it('reports created, started, died with the exit code, and removed, as JSON lines', async () => {
    const run = runLive('events', '--json', 'svc');
    let id = '';
    try {
      await new Promise((resolve) => setTimeout(resolve, 500)); // let the subscription reach the engine
      id = await startReplica('svc', 9, 'setTimeout(() => process.exit(3), 300)');
      await startReplica('other', 9, 'process.exit(4)');
      await waitFor('the death', () => run.stdout.text.includes('"event":"died"'));
      await docker('rm', id);
      await waitFor('the removal', () => run.stdout.text.includes('"event":"removed"'));
    } finally {
      expect(await run.stop()).toBe(130);
    }
    const events = run.stdout.text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(events.map((event) => [event.event, event.container, event.exitCode])).toEqual([
      ['created', `${project}-svc-9`, undefined],
      ['started', `${project}-svc-9`, undefined],
      ['died', `${project}-svc-9`, 3],
      ['removed', `${project}-svc-9`, undefined],
    ]);
    expect(events.every((event) => event.id === id && event.service === 'svc' && event.number === 9)).toBe(true);
  });
});
