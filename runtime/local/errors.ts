/** Codes of {@link LocalRuntimeError}. */
export type LocalRuntimeErrorCode =
  | 'E_MANIFEST'
  | 'E_IMAGE'
  | 'E_NOT_ROOT'
  | 'E_NETWORK'
  | 'E_NO_POD'
  | 'E_NOT_UP'
  | 'E_ALREADY_UP'
  | 'E_CONTROL'
  | 'E_HOST_DNS_BUSY';

/** The one error class of the local runtime: a literal `code`, the facts, and the original error as `cause`. */
export class LocalRuntimeError extends Error {
  constructor(
    readonly code: LocalRuntimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LocalRuntimeError';
  }
}
