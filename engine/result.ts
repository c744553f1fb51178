/** Expected failures (bad input, a cache miss with a reason) travel as values, not exceptions. */
export type Result<T, E = string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** An error the CLI reports as a plain message (no stack trace): the user's input was wrong. */
export class UserError extends Error {
  override readonly name = 'UserError';
}
