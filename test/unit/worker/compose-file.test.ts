import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadComposeFile } from '../../../src/core/config/compose-file.js';
import { HEALTHCHECK_SCRIPT } from '../../../templates/worker/src/heartbeat.js';
import { DEFAULT_HEARTBEAT_FILE } from '../../../templates/worker/src/settings.js';

describe('the demo docker-compose.yml', () => {
  const compose = loadComposeFile(path.resolve(import.meta.dirname, '../../../docker-compose.yml'), {});

  it.each(['worker-a', 'worker-b'])('%s: host network, init, 15s grace, no ports, a shell-free heartbeat healthcheck', (name) => {
    const service = compose.services.get(name);
    expect(service).toMatchObject({ image: 'qscale/worker:local', networkMode: 'host', init: true, stopGracePeriodMs: 15_000, ports: [] });
    expect(service?.healthcheck?.test).toEqual(['CMD', 'node', '-e', HEALTHCHECK_SCRIPT]);
    expect(HEALTHCHECK_SCRIPT).toContain(DEFAULT_HEARTBEAT_FILE);
    expect(service?.environment.BROKER_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it('gives each worker its queue', () => {
    expect(compose.services.get('worker-a')?.environment.QUEUE).toBe('task_a');
    expect(compose.services.get('worker-b')?.environment.QUEUE).toBe('task_b');
  });
});

describe('replicas a compose file asks for', () => {
  const load = (service: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qscale-compose-'));
    writeFileSync(path.join(dir, 'compose.yaml'), `services:\n  w:\n    image: x\n${service}`);
    return () => loadComposeFile(path.join(dir, 'compose.yaml'), {}, 'compose.yaml');
  };

  it('reads deploy.replicas and the legacy scale:', () => {
    expect(load('    deploy:\n      replicas: 3\n')().services.get('w')?.replicas).toBe(3);
    expect(load('    scale: 2\n')().services.get('w')?.replicas).toBe(2);
    expect(load('')().services.get('w')?.replicas).toBeUndefined();
  });

  it('refuses scale and deploy.replicas that disagree', () => {
    expect(load('    scale: 2\n    deploy:\n      replicas: 3\n')).toThrow('compose.yaml: services.w.scale: scale (2) and deploy.replicas (3) disagree (line 4)');
  });
});
