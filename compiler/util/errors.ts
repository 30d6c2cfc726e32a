// One error type for every user-facing failure. The CLI prints `message` on one line
// (prefixed with "edgeq: error:") and exits with `exitCode`; anything else that is
// thrown is a bug and is printed with its stack.

export interface ErrorWhere {
  /** The file the problem is in, as the user named it. */
  file?: string;
  /** Byte offset inside `file` where the problem was found. */
  offset?: number;
}

export class EdgeqError extends Error {
  readonly file?: string;
  readonly offset?: number;
  /** Process exit code: 1 bad input / failed check, 2 usage error. */
  readonly exitCode: number;

  constructor(message: string, where: ErrorWhere = {}, exitCode = 1) {
    const prefix = where.file !== undefined
      ? `${where.file}${where.offset !== undefined ? ` at byte ${where.offset}` : ''}: `
      : '';
    super(prefix + message);
    this.name = 'EdgeqError';
    this.file = where.file;
    this.offset = where.offset;
    this.exitCode = exitCode;
  }
}

/** A usage error (bad flag value, unknown name): exit code 2. */
export function usageError(message: string): EdgeqError {
  return new EdgeqError(message, {}, 2);
}
