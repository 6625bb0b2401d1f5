import { accessSync, constants, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { QscaleError, usageError } from '../../core/errors.js';
import { asLoadTestResult, compareResults } from '../../core/load-test/compare.js';
import { parseLoadTestFlags, type LoadTestFlags } from '../../core/load-test/options.js';
import { LOAD_TEST_SCHEMA, type LoadTestResult, type ScaleStepsResult } from '../../core/load-test/report.js';
import { DEFAULT_MAX_UNCONFIRMED, runLoadTest, type LoadTestPlan } from '../../core/load-test/run-load-test.js';
import { runScaleSteps } from '../../core/load-test/scale-steps.js';
import { describeThreshold } from '../../core/load-test/thresholds.js';
import { loadTestProgressView, renderComparison, renderLoadTestReport, renderScaleSteps } from '../render/load-test-report.js';
import { progressRenderer } from '../render/progress.js';
import { contextOf, type Runtime } from '../runtime.js';

interface LoadTestOptions extends LoadTestFlags {
  json?: boolean;
  out?: string;
  compare?: string[];
  quiet?: boolean;
  yes?: boolean;
}

export function loadTestCommand(runtime: Runtime): Command {
  return new Command('load-test')
    .description('publish tasks to the worker queues and account for every result: counts, latency percentiles, throughput')
    .option('--tasks <n>', 'tasks per queue (default: load_test.tasks)')
    .option('--queue <name...>', 'queue to load, repeatable (default: every queue of the config)')
    .option('--rate <r>', 'tasks per second to each queue, e.g. 50 or 50/s (default: as fast as confirms allow)')
    .option('--duration <d>', 'with --rate: publish for this long instead of --tasks (e.g. 30s)')
    .option('--payload-size <bytes>', 'padding per task (default: load_test.payload_size)')
    .option('--task-ms <ms>', 'work per task: 100, or 50-200 for uniform between (default: load_test.task_ms)')
    .option('--fail-rate <p>', 'probability 0..1 that an attempt fails (default: load_test.fail_rate)')
    .option('--crash-rate <p>', 'fraction 0..1 of tasks that kill every worker that starts them, until dead-lettered as "worker crashed" (default: 0)')
    .option('--timeout <d>', 'how long to wait for results after publishing (default: load_test.timeout, else 30s + (tasks + messages already queued) × task time)')
    .option('--broker-timeout <d>', 'give up (exit 1) when the broker stays unreachable this long (default: 60s)')
    .option('--settle <d>', 'after every task is accounted for, keep listening this long for late duplicates (default: 0.5s + 2 × task time, at most 5s)')
    .option('--purge', 'empty the target queues before publishing (asks on a terminal; else needs --yes)')
    .option('-y, --yes', 'with --purge: do not ask')
    .option('--require-consumers', 'refuse to run (exit 1) when a target queue has no consumer, instead of warning')
    .option('--max-p95 <d>', 'threshold: fail (exit 99) when p95 latency is above, e.g. 300ms')
    .option('--min-throughput <n>', 'threshold: fail when completed tasks/s is below')
    .option('--max-lost <n>', 'threshold: fail when more tasks are lost (default: 0)')
    .option('--max-duplicates <n>', 'threshold: fail when more completions are duplicates')
    .option('--max-failed <n>', 'threshold: fail when more tasks are dead-lettered')
    .option('--scale-steps <counts>', 'run the load at each worker count, e.g. 1,2,4, and print the scaling efficiency')
    .option('--compare <files...>', 'compare two --out files side by side (A then B) and exit')
    .option('--json', 'print the whole result as one JSON document on stdout')
    .option('--out <file>', 'also write the result as JSON to this file')
    .option('-q, --quiet', 'no progress')
    .action(async (options: LoadTestOptions, self: Command) => {
      const context = contextOf(runtime, self);
      const { out } = context;
      const { deps, signal } = runtime;

      if (options.compare) {
        if (options.compare.length !== 2) throw usageError(`--compare: needs exactly two files, got ${options.compare.length}`);
        const [a, b] = options.compare.map((file) => asLoadTestResult(readJson(deps.cwd, file), file));
        const comparison = compareResults(a, b, ['A', 'B']);
        if (options.json) out.json(comparison);
        else out.line(renderComparison(out, comparison));
        return;
      }

      // Everything is validated before the broker is touched: bad input publishes nothing.
      const { config } = context;
      const request = parseLoadTestFlags(options, { ...config.loadTest, queues: config.workers.map((worker) => worker.queue), configFile: config.configFile });
      const services = config.workers.filter((worker) => request.queues.includes(worker.queue));
      if (request.scaleSteps && services.length === 0) throw usageError('--scale-steps: no worker service consumes the chosen queues');
      if (options.yes && !options.purge) throw usageError('--yes: only confirms --purge, which was not given');
      if (options.out) checkWritable(deps.cwd, options.out);
      if (request.purge && !options.yes) {
        const question = `empty ${request.queues.join(', ')} before publishing? other producers' messages are deleted too`;
        const answer = await deps.confirm?.(question);
        if (answer === undefined) throw usageError('--purge: there is no terminal to confirm on; add --yes to purge without asking');
        if (!answer) throw usageError('--purge: not confirmed; nothing was published');
      }

      const runId = deps.newRunId();
      const { scaleSteps, ...shape } = request;
      const plan: LoadTestPlan = { ...shape, runId, maxUnconfirmed: DEFAULT_MAX_UNCONFIRMED, resultsQueue: `${config.broker.resultsQueue}.${runId}` };

      const mode = options.quiet ? 'quiet' : out.progressStream.isTTY ? 'bar' : 'plain';
      const view = loadTestProgressView(out, mode, () => deps.clock.now());
      const broker = await deps.openTaskBroker(config.broker.url, config.broker.managementUrl);
      let result: LoadTestResult | ScaleStepsResult;
      try {
        const base = { broker, clock: deps.clock, signal, onEvent: view.onEvent };
        if (request.scaleSteps) {
          result = await runScaleSteps(
            { ...base, onStep: view.onStep, backend: await context.backend(progressRenderer(out, options.quiet ? 'quiet' : 'normal')) },
            plan,
            { steps: request.scaleSteps, services, consumersTimeoutMs: 60_000 },
          );
        } else {
          result = await runLoadTest(base, plan);
        }
      } finally {
        view.stop();
        await broker.close();
      }

      // The report first: a file that cannot be written must not cost the user the figures.
      const runs = result.schema === LOAD_TEST_SCHEMA ? [result] : result.steps.map((step) => step.result);
      if (options.json) out.json(result);
      else out.line(result.schema === LOAD_TEST_SCHEMA ? renderLoadTestReport(out, result) : renderScaleSteps(out, result));
      if (options.out) {
        try {
          writeFileSync(path.resolve(deps.cwd, options.out), `${JSON.stringify(result, null, 2)}\n`);
        } catch (error) {
          throw new QscaleError('RUN_INCOMPLETE', `--out: could not write ${options.out} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the report is above`);
        }
        out.info(`wrote ${options.out}`);
      }

      const last = runs.at(-1);
      if (last?.outcome === 'interrupted') {
        // main() turns the aborted signal into 130 (SIGINT) or 143 (SIGTERM).
        out.warn(`interrupted (${last.interrupted}): the report above is partial; workers were told to drop the run's remaining tasks`);
        return;
      }
      if (!result.passed) {
        const failed = runs.flatMap((run) => run.thresholds.filter((threshold) => !threshold.passed).map(describeThreshold));
        throw new QscaleError('THRESHOLD_FAILED', `threshold failed: ${[...new Set(failed)].join('; ')}`);
      }
      const timedOut = runs.find((run) => run.outcome === 'timed-out');
      if (timedOut) throw timedOutError(timedOut);
    });
}

/** Exit 1 with the reason a run timed out and the --timeout that should do. */
function timedOutError(run: LoadTestResult): QscaleError {
  const { pending } = run.overall;
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;
  const waited = `timed out after ${seconds(run.settings.timeoutMs)}`;
  const open = run.overall.sent - run.overall.completed - run.overall.failed;
  if (!run.incomplete) return new QscaleError('RUN_INCOMPLETE', `${waited} with ${open} tasks unaccounted for`, { hint: 'see the report above' });
  const suggestion = `--timeout ${seconds(run.incomplete.suggestedTimeoutMs)}`;
  const why = {
    'no-consumers': [`${run.backlog.filter((queue) => queue.consumers === 0).map((queue) => queue.queue).join(', ')} had no consumer`, `start the workers (\`qscale up\`), then run again`],
    'backlog-ahead': [`${run.backlog.filter((queue) => queue.messages > 0).map((queue) => `${queue.queue} had ${queue.messages.toLocaleString('en-US')} messages`).join(', ')} ahead of the run`, `wait for the backlog, use --purge, or give it ${suggestion}`],
    'timeout-too-short': ['the timeout was too short for the load', `give it ${suggestion}`],
  }[run.incomplete.reason];
  return new QscaleError('RUN_INCOMPLETE', `${waited} with ${pending} tasks still pending in the broker: ${why[0]}`, { hint: why[1] });
}

function readJson(cwd: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw usageError(`--compare: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`--compare: ${file} is not JSON (${(error as Error).message})`);
  }
}

/** Fails before the run, not after it, when --out cannot be written: a directory, a missing or read-only folder, a read-only file. */
function checkWritable(cwd: string, file: string): void {
  const target = path.resolve(cwd, file);
  const fail = (why: string) => usageError(`--out: cannot write ${file} (${why})`);
  let existing;
  try {
    existing = statSync(target);
  } catch {
    existing = undefined;
  }
  if (existing?.isDirectory() || /[/\\]$/.test(file)) throw fail('it is a directory; give a file name');
  try {
    accessSync(existing ? target : path.dirname(target), constants.W_OK);
  } catch (error) {
    throw fail((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}
