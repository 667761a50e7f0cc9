import { Writable } from 'node:stream';
import type { Exec, V1Status } from '@kubernetes/client-node';
import { KubernetesTargetError } from './kubernetes-options.ts';

/** Output of a command run with {@link execIn}. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
}

/**
 * Runs `command` in a container through the API server's exec subresource (a websocket, as `kubectl exec`) and
 * resolves with its output once the status frame says it exited 0. A non-zero exit, a failure to start, or no status
 * within `timeoutMs` is a {@link KubernetesTargetError} naming the pod, the command's first words and stderr.
 * @internal
 */
export async function execIn(
  exec: Exec,
  target: { readonly namespace: string; readonly pod: string; readonly container: string },
  command: readonly string[],
  timeoutMs: number,
): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const what = `exec in ${target.namespace}/${target.pod} (${target.container}): ${command
    .slice(-3)
    .join(' ')
    .slice(0, 80)}`;
  const fail = (message: string, cause?: unknown) =>
    new KubernetesTargetError('E_KUBERNETES', `${what}: ${message}`, { object: `pod/${target.pod}` }, { cause });
  return await new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let socket: { close(): void } | undefined;
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.close();
      const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (error) reject(error);
      else resolve(result);
    };
    const timer = setTimeout(() => settle(fail(`no exit status within ${timeoutMs} ms`)), timeoutMs);
    const onStatus = (status: V1Status) => {
      if (status.status === 'Success') return settle(undefined);
      const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
      const stderr = Buffer.concat(err).toString('utf8').trim().slice(-500);
      settle(fail(`${code === undefined ? status.message : `exit code ${code}`}${stderr ? `: ${stderr}` : ''}`));
    };
    exec
      .exec(
        target.namespace,
        target.pod,
        target.container,
        [...command],
        collector(out),
        collector(err),
        null,
        false,
        onStatus,
      )
      .then((ws) => {
        socket = ws;
        if (settled) ws.close();
        // A socket that closes without a status frame (API server or kubelet gone) is a failure, not a success.
        ws.on('close', () => setTimeout(() => settle(fail('connection closed without an exit status')), 50));
      })
      .catch((error: unknown) => settle(fail((error as Error).message ?? String(error), error)));
  });
}
