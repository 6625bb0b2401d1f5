import { main } from '../../src/cli/main.js';
import type { CliDependencies } from '../../src/cli/dependencies.js';
import type { BrokerAdmin, QueueStats } from '../../src/core/ports/broker.js';
import type { ContainerEngine } from '../../src/core/ports/container-engine.js';
import type { ContainerLogSource } from '../../src/core/ports/container-logs.js';

export class CapturedStream {
  text = '';
  isTTY = false;
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

export class FakeBrokerAdmin implements BrokerAdmin {
  readonly endpoint = 'amqp://guest:***@127.0.0.1:5672';
  constructor(readonly stats: Map<string, QueueStats | undefined>) {}
  async queueStats(queues: string[]) {
    return new Map(queues.map((queue) => [queue, this.stats.get(queue)] as const));
  }
  async close() {}
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Dependencies for tests: each outside client throws unless the test gives a fake for it. */
export function testDependencies(given: Partial<CliDependencies> & Pick<CliDependencies, 'cwd'>): CliDependencies {
  const absent = (what: string) => async () => {
    throw new Error(`this test has no ${what}`);
  };
  return {
    env: {},
    stdout: new CapturedStream(),
    stderr: new CapturedStream(),
    clock: { now: () => 1_700_000_000_000, sleep: async () => {} },
    createEngine: () => {
      throw new Error('this test has no container engine');
    },
    openBroker: absent('broker admin'),
    openTaskBroker: absent('task broker'),
    newRunId: () => 'run1',
    ...given,
  };
}

/** Runs the CLI in-process, the core's clients replaced by fakes. */
export async function runCli(args: string[], options: { cwd: string; engine: ContainerEngine & ContainerLogSource; openBroker?: CliDependencies['openBroker']; env?: NodeJS.ProcessEnv; now?: number }): Promise<RunResult> {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const now = options.now ?? 1_700_000_000_000;
  const deps = testDependencies({
    env: options.env ?? {},
    cwd: options.cwd,
    stdout,
    stderr,
    clock: { now: () => now, sleep: async () => {} },
    createEngine: () => options.engine,
    openBroker: options.openBroker ?? (async () => new FakeBrokerAdmin(new Map())),
  });
  const code = await main(['node', 'qscale', ...args], deps, new AbortController().signal);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
