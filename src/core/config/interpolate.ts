/**
 * Compose-file variable interpolation, the whole compose-spec grammar: $VAR, ${VAR},
 * ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+replacement},
 * ${VAR+replacement}, nesting inside the default/replacement/error text, and $$ for a literal $.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {}

/** Collects the names of unset variables that were read, so each is warned about once. */
export type UnsetVariables = Set<string>;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;
type Operator = (typeof OPERATORS)[number];

export function interpolate(text: string, env: Environment, unset: UnsetVariables = new Set()): string {
  let result = '';
  let index = 0;
  while (index < text.length) {
    const dollar = text.indexOf('$', index);
    if (dollar === -1) {
      result += text.slice(index);
      break;
    }
    result += text.slice(index, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      result += '$';
      index = dollar + 2;
    } else if (next === '{') {
      const close = closingBrace(text, dollar + 2);
      if (close === -1) throw new InterpolationError(`invalid interpolation format "${text}": unterminated "\${"`);
      result += substitute(text.slice(dollar + 2, close), text, env, unset);
      index = close + 1;
    } else if (next !== undefined && NAME_START.test(next)) {
      let end = dollar + 2;
      while (end < text.length && NAME_CHAR.test(text[end])) end++;
      result += lookup(text.slice(dollar + 1, end), env, unset);
      index = end;
    } else {
      // A lone $ (before a space, a digit, the end…) stays as it is, as Compose leaves it.
      result += '$';
      index = dollar + 1;
    }
  }
  return result;
}

/** The index of the } closing a ${ whose body starts at `from`, counting nested ${…}. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') i++;
    else if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function substitute(body: string, whole: string, env: Environment, unset: UnsetVariables): string {
  let nameEnd = 0;
  while (nameEnd < body.length && NAME_CHAR.test(body[nameEnd])) nameEnd++;
  const name = body.slice(0, nameEnd);
  if (!name || !NAME_START.test(name[0])) throw new InterpolationError(`invalid interpolation format "${whole}": "\${${body}}" does not start with a variable name`);
  if (nameEnd === body.length) return lookup(name, env, unset);
  const rest = body.slice(nameEnd);
  const operator = OPERATORS.find((candidate) => rest.startsWith(candidate)) as Operator | undefined;
  if (!operator) throw new InterpolationError(`invalid interpolation format "${whole}": unexpected "${rest[0]}" after \${${name}`);
  // The text after the operator is itself interpolated, only when it is used (as a shell does).
  const argument = () => interpolate(rest.slice(operator.length), env, unset);
  const value = env[name];
  const isSet = value !== undefined;
  const isNonEmpty = isSet && value !== '';
  switch (operator) {
    case ':-':
      return isNonEmpty ? value : argument();
    case '-':
      return isSet ? value : argument();
    case ':+':
      return isNonEmpty ? argument() : '';
    case '+':
      return isSet ? argument() : '';
    case ':?':
    case '?': {
      if (operator === ':?' ? isNonEmpty : isSet) return value as string;
      const message = argument();
      throw new InterpolationError(`required variable ${name} is missing a value${message ? `: ${message}` : ''}`);
    }
  }
}

function lookup(name: string, env: Environment, unset: UnsetVariables): string {
  const value = env[name];
  if (value === undefined) unset.add(name);
  return value ?? '';
}

/** Applies interpolation to every string of a parsed YAML tree (not to keys), reporting the path of a bad one. */
export function interpolateTree(value: unknown, env: Environment, unset: UnsetVariables = new Set(), path: Array<string | number> = []): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env, unset);
    } catch (error) {
      throw Object.assign(error as Error, { path });
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, env, unset, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateTree(item, env, unset, [...path, key])]));
  }
  return value;
}

/** Compose's warning for an unset variable, worded as Compose words it. */
export function unsetVariableWarning(name: string): string {
  return `the "${name}" variable is not set; defaulting to a blank string`;
}
