/**
 * The base of every error @vigil/core throws: a stable machine-readable `code`, a message that
 * names the bad value and what to do instead, and `retriable` — whether the same call may
 * succeed later without the caller changing anything.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code
  readonly retriable: boolean
  constructor(code: Code, message: string, options: ErrorOptions & { retriable?: boolean } = {}) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.retriable = options.retriable ?? false
  }
}
