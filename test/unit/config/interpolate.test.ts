import { describe, expect, it } from 'vitest';
import { interpolate, interpolateTree } from '../../../src/core/config/interpolate.js';

// Cases from the compose-spec's interpolation section and Compose's documentation.
const env = { SET: 'value', EMPTY: '', OTHER: 'other', NESTED: 'nested' };

describe('interpolate, as Compose does', () => {
  it.each([
    ['$SET', 'value'],
    ['${SET}', 'value'],
    ['pre-${SET}-post', 'pre-value-post'],
    ['$SET.suffix', 'value.suffix'],
    ['${UNSET}', ''],
    ['$UNSET', ''],
    ['${SET:-default}', 'value'],
    ['${EMPTY:-default}', 'default'],
    ['${UNSET:-default}', 'default'],
    ['${SET-default}', 'value'],
    ['${EMPTY-default}', ''],
    ['${UNSET-default}', 'default'],
    ['${SET:+replacement}', 'replacement'],
    ['${EMPTY:+replacement}', ''],
    ['${UNSET:+replacement}', ''],
    ['${SET+replacement}', 'replacement'],
    ['${EMPTY+replacement}', 'replacement'],
    ['${UNSET+replacement}', ''],
    ['${UNSET:-${OTHER}}', 'other'],
    ['${UNSET:-${ALSO_UNSET:-${NESTED}}}', 'nested'],
    ['${UNSET:-${OTHER}-and-${SET}}', 'other-and-value'],
    ['${SET:+${OTHER}}', 'other'],
    ['${UNSET:-a:b}', 'a:b'],
    ['${UNSET:-}', ''],
    ['$$', '$'],
    ['$${SET}', '${SET}'],
    ['$$SET', '$SET'],
    ['${UNSET:-$$}', '$'],
    ['cost: 5$', 'cost: 5$'],
    ['$ 1', '$ 1'],
    ['$1', '$1'],
    ['no variables', 'no variables'],
  ])('%s → %j', (template, expected) => {
    expect(interpolate(template, env)).toBe(expected);
  });

  it.each([
    ['${UNSET:?please set UNSET}', 'required variable UNSET is missing a value: please set UNSET'],
    ['${EMPTY:?must not be empty}', 'required variable EMPTY is missing a value: must not be empty'],
    ['${UNSET?}', 'required variable UNSET is missing a value'],
    ['${UNSET:?need ${OTHER}}', 'required variable UNSET is missing a value: need other'],
    ['${SET', 'invalid interpolation format "${SET": unterminated "${"'],
    ['${}', 'invalid interpolation format "${}": "${}" does not start with a variable name'],
    ['${1A}', 'invalid interpolation format "${1A}": "${1A}" does not start with a variable name'],
    ['${SET!x}', 'invalid interpolation format "${SET!x}": unexpected "!" after ${SET'],
  ])('%s fails: %s', (template, message) => {
    expect(() => interpolate(template, env)).toThrow(message);
  });

  it('accepts what the ? forms require', () => {
    expect(interpolate('${EMPTY?x}', env)).toBe('');
    expect(interpolate('${SET:?x}', env)).toBe('value');
  });

  it('evaluates a default only when it is used', () => {
    expect(interpolate('${SET:-${UNSET:?never evaluated}}', env)).toBe('value');
  });

  it('collects each unset variable it read once', () => {
    const unset = new Set<string>();
    interpolateTree({ a: '${A} $A', b: ['${B:-x}', '${C}'], c: 3 }, env, unset);
    expect([...unset].sort()).toEqual(['A', 'C']);
  });

  it('reports the YAML path of a failing string', () => {
    let failure: unknown;
    try {
      interpolateTree({ services: { w: { image: '${IMAGE:?set IMAGE}' } } }, env);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ message: 'required variable IMAGE is missing a value: set IMAGE', path: ['services', 'w', 'image'] });
  });
});
