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
  | 'E_HOST_DNS_BUSY'
  | 'E_ADMISSION';

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

/**
 * Objects an API server would refuse (kind not served, invalid name, unknown field, too large, immutable field):
 * `refusals` holds kubectl's message for each; `applied` what an apply still did with the admitted objects, as
 * `kubectl apply` applies the rest and exits 1.
 */
export class AdmissionError extends LocalRuntimeError {
  constructor(
    message: string,
    readonly refusals: ReadonlyArray<{ readonly object: string; readonly message: string; readonly summary: string }>,
    readonly applied: ReadonlyArray<import('./apply.ts').ApplyChange> = [],
  ) {
    super('E_ADMISSION', message);
    this.name = 'AdmissionError';
  }
}
