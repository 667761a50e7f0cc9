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

/**
 * Timeout of a hook or test that starts a local runtime of the default charts: its own start (up to 3 minutes on a
 * loaded 2-core machine) plus the wait for another test file's runtime to release host DNS of the same namespace
 * (SLOTFORGE_HOST_DNS_WAIT_MS in vitest.config.ts).
 */
export const RUNTIME_HOOK_TIMEOUT_MS = 180_000 + Number(process.env.SLOTFORGE_HOST_DNS_WAIT_MS ?? 0);
