/**
 * The process of a container of a kubectl image: the image has no shell, only `kubectl`, so argv[0] must be kubectl
 * (anything else fails as the container runtime fails to exec a missing program). Usage:
 * node --import tsx runtime/local/kubectl/main.ts <context.json> <argv...>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKubectl } from './command.ts';
import { type KubectlLaunchContext, resolveContainerPath } from './launch.ts';
import { type RbacPolicy, rbacPolicy } from './rbac.ts';

const [contextFile, program, ...args] = process.argv.slice(2);
const context = JSON.parse(readFileSync(contextFile!, 'utf8')) as KubectlLaunchContext;

if (program !== 'kubectl' && program !== '/bin/kubectl') {
  // What containerd reports when the image has no such program (kubelet: StartError, exit code 128).
  process.stderr.write(
    `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown\n`,
  );
  process.exit(128);
}

const policy = (): RbacPolicy => {
  try {
    return JSON.parse(readFileSync(join(context.api!, 'rbac.json'), 'utf8')) as RbacPolicy;
  } catch {
    return rbacPolicy([]);
  }
};

const { admitSecret } = await import('../admission/index.ts');
const result = runKubectl(args, {
  namespace: context.namespace,
  serviceAccount: context.serviceAccount,
  api: context.api ?? undefined,
  policy,
  resolvePath: (path) => resolveContainerPath(path, context),
  admit: admitSecret,
});
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.code;
