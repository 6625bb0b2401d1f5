import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseComposeFiles } from '../../../src/core/config/compose-discovery.js';

function folder(files: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qscale-discovery-'));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), 'services: {}\n');
  }
  return dir;
}

describe('chooseComposeFiles, as Compose chooses', () => {
  it.each([
    [['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'], 'compose.yaml'],
    [['compose.yml', 'docker-compose.yml'], 'compose.yml'],
    [['docker-compose.yml', 'docker-compose.yaml'], 'docker-compose.yml'],
    [['docker-compose.yaml'], 'docker-compose.yaml'],
  ])('among %j takes %s, and warns when there were several', (present, chosen) => {
    const dir = folder(present);
    const choice = chooseComposeFiles({ cwd: dir, env: {}, configDir: dir });
    expect(choice.displayNames).toEqual([chosen]);
    expect(choice.warnings).toEqual(present.length > 1 ? [`found several compose files in . (${present.join(', ')}); using ${chosen}`] : []);
  });

  it('adds the override file beside the found one', () => {
    const dir = folder(['compose.yaml', 'compose.override.yaml', 'docker-compose.override.yml']);
    expect(chooseComposeFiles({ cwd: dir, env: {}, configDir: dir }).displayNames).toEqual(['compose.yaml', 'compose.override.yaml']);
    const old = folder(['docker-compose.yml', 'docker-compose.override.yml']);
    expect(chooseComposeFiles({ cwd: old, env: {}, configDir: old }).displayNames).toEqual(['docker-compose.yml', 'docker-compose.override.yml']);
  });

  it('looks in parent folders', () => {
    const dir = folder(['compose.yaml', 'sub/deeper/.keep']);
    const choice = chooseComposeFiles({ cwd: path.join(dir, 'sub/deeper'), env: {}, configDir: path.join(dir, 'sub/deeper') });
    expect(choice.files).toEqual([path.join(dir, 'compose.yaml')]);
    expect(choice.displayNames).toEqual(['../../compose.yaml']);
  });

  it('takes -f files in order, without the override file', () => {
    const dir = folder(['compose.yaml', 'compose.override.yaml', 'prod.yaml']);
    const choice = chooseComposeFiles({ cwd: dir, flagFiles: ['compose.yaml', 'prod.yaml'], env: { COMPOSE_FILE: 'other.yaml' }, configured: 'x.yaml', configDir: dir });
    expect(choice).toMatchObject({ files: [path.join(dir, 'compose.yaml'), path.join(dir, 'prod.yaml')], origin: '-f' });
  });

  it('splits COMPOSE_FILE on : or COMPOSE_PATH_SEPARATOR, before the config', () => {
    const dir = folder([]);
    expect(chooseComposeFiles({ cwd: dir, env: { COMPOSE_FILE: 'a.yml:b.yml' }, configured: 'x.yaml', configDir: dir }).displayNames).toEqual(['a.yml', 'b.yml']);
    expect(chooseComposeFiles({ cwd: dir, env: { COMPOSE_FILE: 'a.yml;b.yml', COMPOSE_PATH_SEPARATOR: ';' }, configDir: dir }).displayNames).toEqual(['a.yml', 'b.yml']);
  });

  it('takes COMPOSE_FILE from the .env of the current folder too, the environment winning', () => {
    const dir = folder([]);
    writeFileSync(path.join(dir, '.env'), 'COMPOSE_FILE=base.yml:prod.yml\n');
    expect(chooseComposeFiles({ cwd: dir, env: {}, configDir: dir }).displayNames).toEqual(['base.yml', 'prod.yml']);
    expect(chooseComposeFiles({ cwd: dir, env: { COMPOSE_FILE: 'mine.yml' }, configDir: dir }).displayNames).toEqual(['mine.yml']);
  });

  it("takes the config's project.compose_file relative to the config's folder", () => {
    const dir = folder(['ops/fleet.yml']);
    expect(chooseComposeFiles({ cwd: dir, env: {}, configured: 'fleet.yml', configDir: path.join(dir, 'ops') }).displayNames).toEqual(['ops/fleet.yml']);
  });

  it('says where it looked when nothing is found', () => {
    const dir = folder([]);
    expect(() => chooseComposeFiles({ cwd: dir, env: {}, configDir: dir })).toThrow(
      'no compose file found in . or its parents (looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml)',
    );
  });
});
