import { describe, expect, it } from 'vitest';
import { maskUrlPasswords } from '../../../src/core/secrets.js';

describe('maskUrlPasswords', () => {
  it.each([
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:***@127.0.0.1:5672'],
    ['url=amqps://u:p%40ss@host/vhost and http://a:b@c', 'url=amqps://u:***@host/vhost and http://a:***@c'],
    ['"amqp://admin:s3cret@127.0.0.1:5999"', '"amqp://admin:***@127.0.0.1:5999"'],
    ['amqp://user@host', 'amqp://user@host'],
    ['amqp://127.0.0.1:5672', 'amqp://127.0.0.1:5672'],
    ['no url here: a:b@c', 'no url here: a:b@c'],
  ])('%s → %s', (input, expected) => {
    expect(maskUrlPasswords(input)).toBe(expected);
  });

  it('stays linear on a long unbroken word', () => {
    // Quadratic matching would take seconds here; the result must also be unchanged.
    const word = 'a'.repeat(200_000);
    expect(maskUrlPasswords(`${word} amqp://u:p@h`)).toBe(`${word} amqp://u:***@h`);
  });
});
