/**
 * Drops keys set to undefined: `{ maxSleep: undefined }` must not override a module
 * default, and an answer's fields should not carry empty ones.
 */
export function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
