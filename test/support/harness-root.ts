import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { ProcessRegistry } from '../../runtime/process/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    harnessRoot: string;
  }
}

let registry: ProcessRegistry | undefined;

/**
 * The run's harness root, made by the global setup: every process the harness starts is recorded under it and every
 * temp dir lives inside it, so the global teardown can reap both even after a worker crashed.
 */
export function harnessRegistry(): ProcessRegistry {
  if (!registry) {
    let root: string | undefined;
    try {
      root = inject('harnessRoot');
    } catch {
      root = undefined;
    }
    if (!root) {
      // Outside vitest's global setup (a script importing the fixtures): a root of our own, reaped by the caller.
      root = mkdtempSync(join(tmpdir(), 'slotforge-harness-'));
    }
    mkdirSync(root, { recursive: true });
    registry = new ProcessRegistry(root);
  }
  return registry;
}

/** A new temp dir inside the harness root. */
export function harnessTempDir(prefix: string): string {
  return mkdtempSync(join(harnessRegistry().root, `${prefix}-`));
}
