/**
 * Compose-file variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, $VAR and $$ for a literal dollar sign.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export class InterpolationError extends Error {}

const PATTERN = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))/g;

export function interpolate(text: string, env: Environment): string {
  return text.replace(PATTERN, (match, braced?: string, operator?: string, argument?: string, bare?: string, invalid?: string) => {
    if (match === '$$') return '$';
    if (invalid !== undefined) throw new InterpolationError(`invalid interpolation format "${match}"`);
    const name = (braced ?? bare) as string;
    const value = env[name];
    const unsetOrEmpty = value === undefined || value === '';
    switch (operator) {
      case ':-':
        return unsetOrEmpty ? (argument ?? '') : value;
      case '-':
        return value === undefined ? (argument ?? '') : value;
      case ':?':
        if (unsetOrEmpty) throw new InterpolationError(argument || `required variable ${name} is missing a value`);
        return value;
      case '?':
        if (value === undefined) throw new InterpolationError(argument || `required variable ${name} is missing a value`);
        return value;
      default:
        return value ?? '';
    }
  });
}

/** Applies interpolation to every string of a parsed YAML tree, reporting the path of a bad one. */
export function interpolateTree(value: unknown, env: Environment, path: Array<string | number> = []): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env);
    } catch (error) {
      throw Object.assign(error as Error, { path });
    }
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateTree(item, env, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateTree(item, env, [...path, key])]),
    );
  }
  return value;
}

/** Parses a .env / env_file: KEY=VALUE lines, # comments, optional quotes, `export` prefix. */
export function parseEnvFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    result[match[1]] = value;
  }
  return result;
}
