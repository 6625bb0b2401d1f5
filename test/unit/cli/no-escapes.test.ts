import { describe, expect, it } from 'vitest';
import { Output } from '../../../src/cli/output.js';
import { CapturedStream } from '../../support/cli-harness.js';

const ESC = '\x1b';

function streams(stdoutTTY: boolean, stderrTTY: boolean) {
  const stdout = Object.assign(new CapturedStream(), { isTTY: stdoutTTY });
  const stderr = Object.assign(new CapturedStream(), { isTTY: stderrTTY });
  return { stdout, stderr };
}

describe('no escape codes into pipes', () => {
  it('a terminal stdout with stderr piped (`qscale scale … 2>log`): colour on stdout only', () => {
    const { stdout, stderr } = streams(true, false);
    const env = { TERM: 'xterm' };
    const out = new Output(stdout, stderr, { color: Output.colorWanted(stdout, env, true), stderrColor: Output.colorWanted(stderr, env, true) });
    out.line(out.color.green('ok'));
    out.info(`${out.color.bold('worker-a')}: 0 → 2`);
    out.warn('careful');
    out.error('failed');
    expect(stdout.text).toContain(ESC);
    expect(stderr.text).toBe('worker-a: 0 → 2\nwarning: careful\nerror: failed\n');
  });

  it('both on a terminal: colour on both', () => {
    const { stdout, stderr } = streams(true, true);
    const env = { TERM: 'xterm' };
    const out = new Output(stdout, stderr, { color: Output.colorWanted(stdout, env, true), stderrColor: Output.colorWanted(stderr, env, true) });
    out.warn('careful');
    expect(stderr.text).toContain(`${ESC}[33mwarning:`);
  });

  it('NO_COLOR and --no-color: none anywhere', () => {
    const { stdout, stderr } = streams(true, true);
    for (const [env, flag] of [[{ TERM: 'xterm', NO_COLOR: '1' }, true], [{ TERM: 'xterm' }, false]] as const) {
      const out = new Output(stdout, stderr, { color: Output.colorWanted(stdout, env, flag), stderrColor: Output.colorWanted(stderr, env, flag) });
      out.line(out.color.green('ok'));
      out.warn('careful');
    }
    expect(stdout.text + stderr.text).not.toContain(ESC);
  });
});
