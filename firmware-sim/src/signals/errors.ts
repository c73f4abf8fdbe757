export const signalErrorCodes = ['INVALID_ARGUMENT', 'UNKNOWN_SENSOR'] as const
export type SignalErrorCode = (typeof signalErrorCodes)[number]

export class SignalError extends Error {
  readonly code: SignalErrorCode
  readonly retriable: boolean
  constructor(code: SignalErrorCode, message: string, options: ErrorOptions & { retriable?: boolean } = {}) {
    super(message, options)
    this.name = 'SignalError'
    this.code = code
    this.retriable = options.retriable ?? false
  }
}
