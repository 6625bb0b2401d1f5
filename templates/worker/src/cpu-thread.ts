import { Worker as Thread } from 'node:worker_threads';

/** The thread's program, evaluated inline (the worker is one esbuild bundle): burn CPU for each ms asked, then answer. */
const BURN_PROGRAM = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (ms) => {
  const until = performance.now() + ms;
  let spin = 0;
  while (performance.now() < until) spin = (spin + Math.sqrt(spin + 1)) % 1e6;
  parentPort.postMessage(ms);
});
`;

/**
 * CPU-bound work off the main event loop: a pool of worker threads, one per task worked at the same
 * time, started on first use. A task burning CPU then starves neither the AMQP heartbeats nor the
 * heartbeat file nor the control queue.
 */
export class CpuThreads {
  private readonly idle: Thread[] = [];

  burn(ms: number): Promise<void> {
    const thread = this.idle.pop() ?? this.spawn();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        thread.off('error', failed);
        this.idle.push(thread);
        resolve();
      };
      const failed = (error: Error) => {
        thread.off('message', done);
        reject(error);
      };
      thread.once('message', done);
      thread.once('error', failed);
      thread.postMessage(ms);
    });
  }

  private spawn(): Thread {
    const thread = new Thread(BURN_PROGRAM, { eval: true });
    // An idle thread must not keep the process alive after a drain.
    thread.unref();
    return thread;
  }
}
