/** An error the CLI reports as a plain message (no stack trace): the user's input was wrong. */
export class UserError extends Error {
  override readonly name = 'UserError';
}
