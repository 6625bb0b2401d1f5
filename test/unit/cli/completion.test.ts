import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeEngine } from '../../support/fake-engine.js';
import { runCli } from '../../support/cli-harness.js';

const COMMANDS = ['up', 'down', 'scale', 'scale-all', 'status', 'ps', 'load-test', 'logs', 'events', 'init', 'autoscale', 'completion'];

async function script(shell: string): Promise<string> {
  const result = await runCli(['completion', shell], { cwd: tmpdir(), engine: new FakeEngine(() => 0, []) });
  expect(result.code).toBe(0);
  expect(result.stderr).toBe('');
  return result.stdout;
}

/** What bash offers for the words typed so far (the last one being completed). */
function bashComplete(source: string, words: string[]): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'qscale-completion-'));
  writeFileSync(path.join(dir, 'qscale.bash'), source);
  const quoted = words.map((word) => `'${word}'`).join(' ');
  const out = execFileSync('bash', ['-c', `source qscale.bash; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _qscale; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: dir, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('qscale completion', () => {
  it('bash: completes command names, then the options of the command typed', async () => {
    const source = await script('bash');
    expect(bashComplete(source, ['qscale', 'sca'])).toEqual(['scale', 'scale-all']);
    // A global option's value is not the command.
    expect(bashComplete(source, ['qscale', '-c', 'x.yml', 'lo'])).toEqual(['load-test', 'logs']);
    expect(bashComplete(source, ['qscale', 'scale', 'worker-a', '3', '--dr'])).toEqual(['--dry-run']);
    expect(bashComplete(source, ['qscale', 'logs', '--t'])).toEqual(['--tail', '--timestamps']);
    expect(bashComplete(source, ['qscale', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
  });

  it('bash: every command of the program is offered', async () => {
    expect(bashComplete(await script('bash'), ['qscale', ''])).toEqual(expect.arrayContaining([...COMMANDS, '--config', '--file', '--project-name']));
  });

  it('zsh and fish: every command with its description, and its options', async () => {
    const zsh = await script('zsh');
    expect(zsh.startsWith('#compdef qscale\n')).toBe(true);
    for (const name of COMMANDS) expect(zsh).toMatch(new RegExp(`^    '${name}:`, 'm'));
    expect(zsh).toContain(`'(-c --config)'{-c,--config}'[`);
    expect(zsh).toContain(`${'scale)'} _arguments`);
    const fish = await script('fish');
    for (const name of COMMANDS) expect(fish).toContain(`complete -c qscale -n '__fish_use_subcommand' -a ${name} -d '`);
    expect(fish).toContain("complete -c qscale -n '__fish_seen_subcommand_from scale' -l dry-run -d 'print the plan");
    expect(fish).toMatch(/-s c -l config -r -F -d/);
  });

  it.each(['zsh', 'fish'])('%s accepts the script it is given (parsed by the shell itself where installed)', async (shell) => {
    const source = await script(shell);
    let installed = true;
    try {
      execFileSync('which', [shell], { stdio: 'ignore' });
    } catch {
      installed = false;
    }
    if (!installed) return;
    const dir = mkdtempSync(path.join(tmpdir(), 'qscale-completion-'));
    writeFileSync(path.join(dir, `qscale.${shell}`), source);
    execFileSync(shell, ['-n', path.join(dir, `qscale.${shell}`)]);
    if (shell === 'fish') {
      const offered = execFileSync('fish', ['-c', `source ${path.join(dir, 'qscale.fish')}; complete -C 'qscale scale w --dr'`], { encoding: 'utf8' });
      expect(offered.split('\t')[0]).toBe('--dry-run');
    }
  });

  it('refuses an unknown shell with exit 2', async () => {
    const result = await runCli(['completion', 'ksh'], { cwd: tmpdir(), engine: new FakeEngine(() => 0, []) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Allowed choices are bash, zsh, fish");
  });
});

describe('--help examples', () => {
  it.each([
    ['scale', 'qscale scale worker-a 5'],
    ['status', 'qscale status --watch 5s'],
    ['logs', 'qscale logs -f --since 10m'],
  ])('%s --help ends with examples', async (command, example) => {
    const result = await runCli([command, '--help'], { cwd: tmpdir(), engine: new FakeEngine(() => 0, []) });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`\\nExamples:\\n(  .*\\n)*  ${example.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}`));
  });

  it('the main --help names the config search and the exit codes', async () => {
    const result = await runCli(['--help'], { cwd: tmpdir(), engine: new FakeEngine(() => 0, []) });
    expect(result.stdout).toContain('The config is -c, else QSCALE_CONFIG, else test-config.yml here or in the nearest parent folder.');
    expect(result.stdout).toContain('Exit codes: 0 ok, 1 operational failure, 2 usage or config error, 99 load-test thresholds failed, 130 Ctrl-C, 143 SIGTERM.');
  });
});
