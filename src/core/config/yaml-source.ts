import { readFileSync } from 'node:fs';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type CollectionTag, type Document, type ScalarTag } from 'yaml';
import type { z } from 'zod';
import { configError } from '../errors.js';

export type YamlPath = ReadonlyArray<string | number>;

/** A parsed YAML file that can say on which line any path of it stands. */
export interface YamlSource {
  file: string;
  data: unknown;
  lineOf(path: YamlPath): number | undefined;
}

export function formatYamlPath(path: YamlPath): string {
  if (path.length === 0) return '(top level)';
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`))
    .join('');
}

/** `file: path: message (line N)`, the one-line shape of every configuration error. */
export function locate(source: YamlSource, path: YamlPath, message: string): string {
  const line = source.lineOf(path);
  return `${source.file}: ${formatYamlPath(path)}: ${message}${line ? ` (line ${line})` : ''}`;
}

export interface YamlOptions {
  /** Tags beyond YAML's own (Compose's !reset and !override). */
  customTags?: Array<ScalarTag | CollectionTag>;
}

export function readYamlFile(file: string, displayName: string = file, options: YamlOptions = {}): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw configError(
      code === 'ENOENT' ? `${displayName}: file not found` : `${displayName}: cannot read (${code ?? String(error)})`,
      code === 'ENOENT' ? 'pass another file with -c/--config or -f/--file, or run `qscale init`' : undefined,
    );
  }
  return parseYamlText(text, displayName, options);
}

export function parseYamlText(text: string, file: string, options: YamlOptions = {}): YamlSource {
  const lineCounter = new LineCounter();
  const customTags = options.customTags;
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true, ...(customTags ? { customTags: (tags) => [...tags, ...customTags] } : {}) });
  const firstError = doc.errors[0];
  if (firstError) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    const reason = firstError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw configError(`${file}: invalid YAML: ${reason} (line ${line})`);
  }
  return {
    file,
    data: doc.toJS({ maxAliasCount: 100 }) ?? {},
    lineOf: (path) => lineOfPath(doc, lineCounter, path),
  };
}

function lineOfPath(doc: Document, lineCounter: LineCounter, path: YamlPath): number | undefined {
  const lineAt = (node: unknown) => (isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : undefined);
  // The deepest part of the path that exists: an unknown key's parent still tells the line.
  // A mapping entry is located by its key, so `workers.x` points at `x:`, not at its first child.
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === key);
      const line = lineAt(pair?.key) ?? lineAt(pair?.value);
      if (line !== undefined) return line;
    } else if (isSeq(parent) && typeof key === 'number') {
      const line = lineAt(parent.items[key]);
      if (line !== undefined) return line;
    }
  }
  return lineAt(doc.contents);
}

/** Validates data with a schema; the first problem becomes one located configuration error. */
export function parseWithSchema<Schema extends z.ZodType>(source: YamlSource, schema: Schema, data: unknown = source.data): z.output<Schema> {
  return parseLocated(schema, data, (path, message) => configError(locate(source, path, message)));
}

/** Validates data with a schema; the first problem, with its path, becomes the error `fail` makes. */
export function parseLocated<Schema extends z.ZodType>(schema: Schema, data: unknown, fail: (path: YamlPath, message: string) => Error): z.output<Schema> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    throw fail([...path, key], `unknown key "${key}"`);
  }
  throw fail(path, describeIssue(issue));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const received = (issue as { input?: unknown }).input;
    if (received === undefined) return `is required (expected ${issue.expected})`;
    return `expected ${issue.expected}, got ${describeValue(received)}`;
  }
  return issue.message;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}
