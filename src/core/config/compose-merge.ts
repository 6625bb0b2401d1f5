/**
 * Merges compose files (repeated -f, COMPOSE_FILE, override files) and `extends` the way Compose
 * does (compose-spec "Merge and override"): mappings merge key by key, the later file winning;
 * sequences append, except shell commands (replaced) and unique resources (merged by their key);
 * environment, labels and the like merge as mappings whichever form each file wrote them in.
 */
import type { CollectionTag, ScalarTag } from 'yaml';

type Tree = Record<string, unknown>;

/** `!reset`: the later file removes the value. */
export const RESET = Symbol('compose !reset');
/** `!override`: the later file's value replaces the earlier one whole, unmerged (kept wrapped until merged). */
const OVERRIDE = '\u0000compose !override';

/** Compose's merge tags, for the YAML parser. */
export const COMPOSE_YAML_TAGS: Array<ScalarTag | CollectionTag> = [
  { tag: '!reset', resolve: () => RESET },
  { tag: '!reset', collection: 'map', resolve: () => RESET },
  { tag: '!reset', collection: 'seq', resolve: () => RESET },
  { tag: '!override', resolve: (value: string) => value },
  { tag: '!override', collection: 'map', resolve: (map) => ({ [OVERRIDE]: map.toJSON() }) },
  { tag: '!override', collection: 'seq', resolve: (seq) => ({ [OVERRIDE]: seq.toJSON() }) },
];

const isOverride = (value: unknown): value is { [OVERRIDE]: unknown } => typeof value === 'object' && value !== null && OVERRIDE in value;
const unwrap = (value: unknown) => (isOverride(value) ? value[OVERRIDE] : value);

/** The tree without merge markers: reset keys dropped, overrides unwrapped. */
export function withoutMergeTags(value: unknown): unknown {
  const plain = unwrap(value);
  if (Array.isArray(plain)) return plain.filter((item) => item !== RESET).map(withoutMergeTags);
  if (typeof plain === 'object' && plain !== null) {
    return Object.fromEntries(Object.entries(plain).filter(([, item]) => item !== RESET).map(([key, item]) => [key, withoutMergeTags(item)]));
  }
  return plain;
}

const isMapping = (value: unknown): value is Tree => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Replaced whole by the later file. */
const REPLACED = new Set(['command', 'entrypoint', 'healthcheck.test']);
/** Written as a mapping or as a list of KEY=VALUE: merged as mappings. */
const MAPPING_LIKE = new Set(['environment', 'labels', 'sysctls', 'annotations', 'build.args', 'build.labels', 'depends_on', 'extra_hosts', 'logging.options', 'storage_opt']);
/** Sequences of unique resources, merged by the key each item is known by. */
const KEYED: Record<string, (item: unknown) => string> = {
  ports: (item) => (isMapping(item) ? JSON.stringify(item) : String(item)),
  volumes: (item) => (isMapping(item) ? String(item.target) : splitVolume(String(item))),
  secrets: (item) => (isMapping(item) ? String(item.target ?? item.source) : String(item)),
  configs: (item) => (isMapping(item) ? String(item.target ?? item.source) : String(item)),
  devices: (item) => (isMapping(item) ? String(item.target ?? item.source) : String(item).split(':')[1] ?? String(item)),
};

function splitVolume(spec: string): string {
  const parts = spec.split(':');
  return parts.length === 1 ? parts[0] : parts[1];
}

/** One service written twice: `override` (the later file, or the extending service) wins. */
export function mergeService(base: Tree, override: Tree): Tree {
  return mergeMapping(base, override, '');
}

/** The top level of two compose files. */
export function mergeComposeTrees(base: Tree, override: Tree): Tree {
  const result: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === RESET) delete result[key];
    else if (key === 'services' && isMapping(value) && isMapping(base.services)) {
      const services: Tree = { ...base.services };
      for (const [name, service] of Object.entries(value)) {
        if (service === RESET) delete services[name];
        else services[name] = isMapping(services[name]) && isMapping(service) && !isOverride(service) ? mergeService(services[name] as Tree, service) : unwrap(service);
      }
      result.services = services;
    } else if (isMapping(value) && isMapping(base[key])) {
      // networks, volumes, secrets, configs: each entry merged as a mapping.
      result[key] = mergeMapping(base[key] as Tree, value, `${key}.*`);
    } else result[key] = value;
  }
  return result;
}

function mergeMapping(base: Tree, override: Tree, prefix: string): Tree {
  const result: Tree = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value === RESET) delete result[key];
    else if (isOverride(value) || !(key in base)) result[key] = unwrap(value);
    else result[key] = mergeValue(unwrap(base[key]), value, path);
  }
  return result;
}

function mergeValue(base: unknown, override: unknown, path: string): unknown {
  if (REPLACED.has(path)) return override;
  if (MAPPING_LIKE.has(path)) return { ...asMapping(base, path), ...asMapping(override, path) };
  const keyOf = KEYED[path];
  if (keyOf && Array.isArray(base) && Array.isArray(override)) {
    const byKey = new Map<string, unknown>(base.map((item) => [keyOf(item), item]));
    for (const item of override) byKey.set(keyOf(item), item);
    return [...byKey.values()];
  }
  if (Array.isArray(base) && Array.isArray(override)) {
    const seen = new Set(base.map((item) => JSON.stringify(item)));
    return [...base, ...override.filter((item) => !seen.has(JSON.stringify(item)))];
  }
  if (isMapping(base) && isMapping(override)) return mergeMapping(base, override, path);
  return override;
}

/** `[A=1, B]` → `{A: '1', B: null}`; `[a, b]` (depends_on) → `{a: {}, b: {}}`; a mapping as it is. */
export function asMapping(value: unknown, path: string): Tree {
  if (isMapping(value)) return value;
  if (!Array.isArray(value)) return {};
  const result: Tree = {};
  for (const entry of value) {
    const text = String(entry);
    if (path === 'depends_on') {
      result[text] = { condition: 'service_started' };
      continue;
    }
    const separator = path === 'extra_hosts' ? /[=:]/.exec(text) : /=/.exec(text);
    if (separator) result[text.slice(0, separator.index)] = text.slice(separator.index + 1);
    else result[text] = null;
  }
  return result;
}
