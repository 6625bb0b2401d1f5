import { expect } from 'vitest';
import { QscaleError } from '../../src/core/errors.js';

/** The QscaleError a promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<QscaleError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(QscaleError);
  return error as QscaleError;
}
