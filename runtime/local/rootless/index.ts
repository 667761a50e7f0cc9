export { procMountLine, ROOTLESS_CHROOT_HELPER, upperMountPointLines } from './chroot.ts';
export { cleanupOutside, recordNamespace } from './cleanup.ts';
export { ROOTLESS_DEGRADED, rootlessDegradations } from './degraded.ts';
export {
  enterArgv,
  insideRootless,
  NAMESPACE_SETUP,
  namespaceArgv,
  namespaceEnv,
  needsNamespace,
  ROOTLESS_ENV,
  userNamespaceOf,
  userNamespacesEnabled,
} from './namespace.ts';
export { type ForwardedMember, type PortForward, type PortForwardOptions, portForward } from './port-forward.ts';
export { reexecIfNotRoot, reexecInNamespace, runInNamespace, userNamespacesOff } from './reexec.ts';
