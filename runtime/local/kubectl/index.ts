export type { KubectlContext } from './command.ts';
export { runKubectl } from './command.ts';
export { resolveContainerPath } from './launch.ts';
export { RBAC_KINDS, rbacPolicy } from './rbac.ts';
export { readSecret } from './secret-store.ts';
