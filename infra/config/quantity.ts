import { InvalidPropError } from '../errors.ts';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** 1 MiB, the unit every derived memory figure is rounded to. */
export const MIB = 2 ** 20;

/**
 * Bytes of a Kubernetes memory quantity (`512Mi`, `1Gi`, `500M`, `1073741824`).
 * @see https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
 */
export function parseMemoryQuantity(owner: string, field: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(value);
  const unit = match?.[2] ?? '';
  const factor = BINARY[unit] ?? DECIMAL[unit];
  if (!match || factor === undefined) {
    throw new InvalidPropError(owner, field, 'must be a Kubernetes memory quantity such as 512Mi or 2Gi', value);
  }
  return Math.floor(Number(match[1]) * factor);
}

/** A byte count as the shortest exact binary quantity (`402653184` -> `384Mi`). */
export function formatMemoryQuantity(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = BINARY[unit] as number;
    if (bytes % factor === 0 && bytes >= factor) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
