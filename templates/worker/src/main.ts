import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerStats } from './consumer.js';
import { Heartbeat } from './heartbeat.js';
import { createLogger } from './log.js';
import { readSettings, SettingsError } from './settings.js';
import { CpuThreads } from './cpu-thread.js';
import { resolveWorkerId } from './worker-id.js';
import { Worker } from './worker.js';

const SUMMARY_INTERVAL_MS = 10_000;
/** Time allowed to hand unfinished tasks back once the drain timed out: within the 1 s margin left before SIGKILL. */
const HAND_BACK_MS = 500;

const write = { out: (line: string) => process.stdout.write(`${line}\n`), err: (line: string) => process.stderr.write(`${line}\n`) };

/** The worker process: settings from the environment, SIGTERM/SIGINT drain, exit 0 when drained. */
async function main(): Promise<void> {
  let settings;
  try {
    settings = readSettings(process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    createLogger('error', {}, write).error(error.message);
    process.exit(2);
  }
  const workerId = resolveWorkerId(readOptional('/proc/self/mountinfo'), settings.workerId, hostname());
  const log = createLogger(settings.logLevel, { workerId, queue: settings.queue }, write);
  const stats = new WorkerStats();
  const heartbeat = new Heartbeat(settings.heartbeatFile, (error) => log.warn('cannot write the heartbeat file', { file: settings.heartbeatFile, error: error.message }));
  const cpuThreads = new CpuThreads();
  const worker = new Worker(settings, workerId, {
    log,
    stats,
    heartbeat,
    now: Date.now,
    work: {
      sleep: (ms) => sleep(ms),
      burnCpu: (ms) => cpuThreads.burn(ms),
      random: Math.random,
      crash: () => {
        log.warn('crashing on purpose (crashRate): SIGKILL');
        process.kill(process.pid, 'SIGKILL');
      },
    },
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal: exiting without draining; unacked tasks return to the queue', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('draining', { signal, inFlight: worker.inFlight });
    setTimeout(() => {
      log.error('drain timed out; handing unfinished tasks back and exiting', { drainTimeoutMs: settings.drainTimeoutMs, working: worker.working });
      // Half the margin left before the engine's SIGKILL; whatever is still unacked then returns to the queue on exit.
      void worker.handBackUnfinished(HAND_BACK_MS).finally(() => {
        log.info('exiting unfinished', summaryOf(stats));
        process.exit(1);
      });
    }, settings.drainTimeoutMs).unref();
    worker.stop().then(
      () => {
        log.info('drained', summaryOf(stats));
        process.exit(0);
      },
      (error: Error) => {
        log.error('drain failed', { error: error.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  let last = { at: Date.now(), processed: 0 };
  setInterval(() => {
    const at = Date.now();
    const ratePerSec = Math.round(((stats.processed - last.processed) * 1000 * 10) / Math.max(1, at - last.at)) / 10;
    last = { at, processed: stats.processed };
    log.info('summary', { ...summaryOf(stats), inFlight: worker.inFlight, ratePerSec });
  }, SUMMARY_INTERVAL_MS).unref();

  log.info('starting', {
    broker: settings.brokerUrl,
    prefetch: settings.prefetch,
    concurrency: settings.concurrency,
    maxAttempts: settings.maxAttempts,
    taskMs: settings.work.workMs,
    cpu: settings.work.cpu,
    failRate: settings.work.failRate,
    crashRate: settings.work.crashRate,
    queueType: settings.queueType,
    drainTimeoutMs: settings.drainTimeoutMs,
  });
  // A stop while still connecting closes the connection, which rejects start(): that is no failure.
  await worker.start().catch((error: unknown) => {
    if (!stopping) throw error;
  });
  // The recovering connection keeps the process alive; this keeps it alive while it reconnects.
  setInterval(() => {}, 1 << 30);
}

function summaryOf(stats: WorkerStats) {
  return {
    processed: stats.processed,
    completed: stats.completed,
    failed: stats.failed,
    retried: stats.retried,
    deadLettered: stats.deadLettered,
    abandoned: stats.abandoned,
    dropped: stats.dropped,
    quarantined: stats.quarantined,
    handedBack: stats.handedBack,
    interrupted: stats.interrupted,
    unroutable: stats.unroutable,
  };
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

main().catch((error: Error) => {
  write.err(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'worker failed', error: error.message }));
  process.exit(1);
});
