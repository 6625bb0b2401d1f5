import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/core/logs/split-lines.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('LineSplitter', () => {
  it('hands over whole lines only, keeping a partial line until its newline comes', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(bytes('one\ntw'))).toEqual(['one']);
    expect(splitter.push(bytes('o'))).toEqual([]);
    expect(splitter.push(bytes('\nthree\n'))).toEqual(['two', 'three']);
    expect(splitter.flush()).toEqual([]);
  });

  it('flushes the unfinished last line', () => {
    const splitter = new LineSplitter();
    splitter.push(bytes('done\nhalf a li'));
    expect(splitter.flush()).toEqual(['half a li']);
    expect(splitter.flush()).toEqual([]);
  });

  it('keeps a multi-byte character whole when it is cut between chunks', () => {
    const encoded = bytes('naïve ✓\n');
    for (let cut = 1; cut < encoded.length; cut++) {
      const splitter = new LineSplitter();
      expect([...splitter.push(encoded.slice(0, cut)), ...splitter.push(encoded.slice(cut))], `cut at ${cut}`).toEqual(['naïve ✓']);
    }
  });

  it("drops a TTY's carriage return but keeps empty lines", () => {
    expect(new LineSplitter().push(bytes('a\r\n\r\n\nb\n'))).toEqual(['a', '', '', 'b']);
  });

  it('cuts an endless line into pieces of at most the limit, at character boundaries', () => {
    const splitter = new LineSplitter(10);
    const pieces = splitter.push(bytes('ab✓✓✓✓✓cd'));
    pieces.push(...splitter.flush());
    expect(pieces.join('')).toBe('ab✓✓✓✓✓cd');
    for (const piece of pieces) expect(bytes(piece).length).toBeLessThanOrEqual(10);
    expect(pieces).toEqual(['ab✓✓', '✓✓✓c', 'd']);
  });

  it('refuses a limit too small to hold a character', () => {
    expect(() => new LineSplitter(2)).toThrow('maxLineBytes must be an integer ≥ 4, got 2');
  });
});
