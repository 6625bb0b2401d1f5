import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const IMAGE = process.env.QSCALE_WORKER_IMAGE ?? 'qscale/worker:local';
const RUN = `it-secret-${randomBytes(3).toString('hex')}`;

async function docker(...args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync('docker', args, { timeout: 60_000 });
  return `${stdout}${stderr}`.trim();
}

afterAll(async () => {
  await docker('rm', '-f', `${RUN}-ok`, `${RUN}-missing`).catch(() => '');
  for (const queue of [`${RUN}.q`, `${RUN}.q.quarantine`]) await execFileAsync('rabbitmqctl', ['-q', 'delete_queue', queue], { timeout: 30_000 }).catch(() => undefined);
});

describe('worker image: BROKER_URL_FILE', () => {
  it('connects with the URL read from a mounted secret file, which is not in the container environment', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qscale-secret-'));
    const file = path.join(dir, 'broker_url');
    writeFileSync(file, 'amqp://guest:guest@127.0.0.1:5672\n');
    chmodSync(file, 0o644);
    await docker('run', '-d', '--name', `${RUN}-ok`, '--network', 'host', '--init', '-v', `${file}:/run/secrets/broker_url:ro`, '-e', 'BROKER_URL_FILE=/run/secrets/broker_url', '-e', `QUEUE=${RUN}.q`, IMAGE);
    const deadline = Date.now() + 30_000;
    let logs = '';
    while (Date.now() < deadline && !logs.includes('"msg":"consuming"')) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      logs = await docker('logs', `${RUN}-ok`);
    }
    expect(logs).toContain('"msg":"consuming"');
    expect(logs).toContain('"broker":"amqp://guest:***@127.0.0.1:5672"');
    const environment = await docker('inspect', '-f', '{{json .Config.Env}}', `${RUN}-ok`);
    expect(environment).not.toContain('guest:guest');
  });

  it('exits 2 naming BROKER_URL_FILE when the file cannot be read', async () => {
    await docker('run', '--name', `${RUN}-missing`, '--network', 'host', '-e', 'BROKER_URL_FILE=/run/secrets/none', '-e', `QUEUE=${RUN}.q`, IMAGE).catch(() => '');
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', `${RUN}-missing`)).toBe('2');
    expect(await docker('logs', `${RUN}-missing`)).toContain('"msg":"BROKER_URL_FILE: cannot read /run/secrets/none (ENOENT)"');
  });
});
