import { describe, expect, it } from 'vitest';
import { EnvFileError, parseEnvFile } from '../../../src/core/config/env-file.js';

// Cases from Compose's documented .env syntax ("Env file syntax" in the Compose documentation).
describe('parseEnvFile, by Compose rules', () => {
  it.each([
    ['VAR=VAL', 'VAL'],
    ['VAR="VAL"', 'VAL'],
    ["VAR='VAL'", 'VAL'],
    ['VAR=VAL # comment', 'VAL'],
    ['VAR=VAL# not a comment', 'VAL# not a comment'],
    ['VAR="VAL # not a comment"', 'VAL # not a comment'],
    ['VAR="VAL" # comment', 'VAL'],
    ["VAR='$OTHER'", '$OTHER'],
    ["VAR='${OTHER}'", '${OTHER}'],
    ["VAR='Let\\'s go!'", "Let's go!"],
    ['VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'],
    ['VAR="some\\tvalue"', 'some\tvalue'],
    ["VAR='some\\tvalue'", 'some\\tvalue'],
    ['VAR=some\\tvalue', 'some\\tvalue'],
    ['VAR="a\\nb"', 'a\nb'],
    ['VAR="back\\\\slash"', 'back\\slash'],
    ['VAR="\\$OTHER"', '$OTHER'],
    ['VAR=', ''],
    ['VAR=  spaced value  ', 'spaced value'],
    ['export VAR=exported', 'exported'],
    ['VAR=a=b=c', 'a=b=c'],
    ['VAR=$OTHER', 'from-env'],
    ['VAR="${OTHER}-x"', 'from-env-x'],
    ['VAR=${UNSET:-fallback}', 'fallback'],
  ])('%s → %j', (line, expected) => {
    expect(parseEnvFile(line, { OTHER: 'from-env' }).VAR).toBe(expected);
  });

  it('reads a double-quoted value over several lines', () => {
    expect(parseEnvFile('KEY="-----BEGIN-----\nline two\n-----END-----"\nNEXT=1')).toEqual({ KEY: '-----BEGIN-----\nline two\n-----END-----', NEXT: '1' });
  });

  it('skips comments and blank lines, takes earlier keys for interpolation, and handles CRLF', () => {
    expect(parseEnvFile('# a comment\n\nHOST=db\r\n  # indented comment\nURL=amqp://${HOST}:5672\n')).toEqual({ HOST: 'db', URL: 'amqp://db:5672' });
  });

  it('takes a bare KEY from the environment, and skips it when unset there', () => {
    expect(parseEnvFile('INHERITED\nMISSING\n', { INHERITED: 'yes' })).toEqual({ INHERITED: 'yes' });
  });

  it.each([
    ['A=1\nB="never closed\n', 'unterminated quoted value for B', 2],
    ['A=1\n\nBAD-KEY=1', 'unexpected character "-" in variable name "BAD-KEY"', 3],
    ['MY VAR=1', 'variable name "MY VAR" cannot contain a space', 1],
    ['A="x" y', 'unexpected "y" after the closing quote of A', 1],
  ])('refuses %j: %s (line %i)', (text, message, line) => {
    let failure: unknown;
    try {
      parseEnvFile(text);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(EnvFileError);
    expect(failure).toMatchObject({ message, line });
  });
});
