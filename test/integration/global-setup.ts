import { execFileSync } from 'node:child_process';
import net from 'node:net';

/**
 * Integration tests need the real Docker engine and RabbitMQ. They never skip: when either is
 * missing the run fails here, loudly, saying which and how to start it.
 */
export default async function checkInfrastructure(): Promise<void> {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 15_000 });
  } catch (error) {
    throw new Error(`integration tests need a Docker engine and none answers (${(error as Error).message.split('\n')[0]}); run \`make setup\``);
  }
  for (const [image, target] of [
    ['qscale/node-base:local', 'make setup'],
    ['qscale/worker:local', 'make build'],
  ]) {
    try {
      execFileSync('docker', ['image', 'inspect', image], { stdio: 'pipe', timeout: 15_000 });
    } catch {
      throw new Error(`integration tests need the image ${image} and the engine has none; run \`${target}\``);
    }
  }
  if (!(await portAnswers(5672))) throw new Error('integration tests need RabbitMQ on 127.0.0.1:5672 and none answers; run `make setup`');
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (within 3 s). */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 3000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}
