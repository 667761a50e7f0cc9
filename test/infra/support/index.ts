export { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './chart-runtime.ts';
export type { Manifest } from './synth.ts';
export { objectsOfKind, synthSentinel } from './synth.ts';
export { validateObject } from './validate.ts';
