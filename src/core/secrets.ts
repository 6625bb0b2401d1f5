/** Masks the password of any URL in the text (amqp://user:secret@host → amqp://user:***@host). */
export function maskUrlPasswords(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]*)@/gi, (_match, prefix: string, password: string) =>
    password === '' ? `${prefix}@` : `${prefix}***@`,
  );
}
