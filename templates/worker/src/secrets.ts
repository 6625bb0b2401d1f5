/**
 * Masks the password of any URL in the text (amqp://user:secret@host → amqp://user:***@host).
 * The look-behind anchors the scheme at a word start: without it a long unbroken word costs
 * quadratic time (every position starts a failed scan). Dependency-free: the worker bundle and
 * the qscale CLI (through src/core/secrets.ts) use this one implementation.
 */
export function maskUrlPasswords(text: string): string {
  return text.replace(/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi, (_match, prefix: string, password: string) =>
    password === '' ? `${prefix}@` : `${prefix}***@`,
  );
}
