import { existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import type { ApplyResult } from './apply.ts';
import { AdmissionError, LocalRuntimeError } from './errors.ts';
import { loadManifests } from './manifests.ts';
import type { RedisEndpoint } from './redis-status.ts';
import type { LocalRuntime } from './runtime.ts';

/** A request to the supervisor: one JSON line. */
export type ControlRequest =
  | { readonly verb: 'status' }
  | { readonly verb: 'events'; readonly limit?: number }
  | { readonly verb: 'kill' | 'pause' | 'resume'; readonly pod: string }
  | { readonly verb: 'delete'; readonly pod: string; readonly graceMs?: number }
  | { readonly verb: 'partition'; readonly pods: string[]; readonly from: string[]; readonly ports?: number[] }
  /** `manifests`: a path the supervisor reads (absolute, or relative to its working dir). */
  | {
      readonly verb: 'apply';
      readonly manifests: string;
      readonly prune?: boolean;
      readonly pruneAllowlist?: readonly string[];
      readonly assumeCrds?: readonly string[];
    }
  | { readonly verb: 'heal' }
  | { readonly verb: 'lookup'; readonly name: string }
  | { readonly verb: 'endpoints' };

/**
 * The reply to `endpoints`: where host-side tools reach the deployment's Redis servers now. The one channel through
 * which `slotforge monitor` learns them (the socket is the supervisor's, in the state dir, connectable by its owner
 * only, so the passwords in it stay as private as the Secrets they come from).
 */
export interface EndpointsReply {
  /** Every master and replica of a running pod, with its exporter sidecar when the pod has one. */
  readonly redis: RedisEndpoint[];
  /**
   * The Prometheus file_sd file of the exporter sidecars that the supervisor rewrites when pods move (a Prometheus
   * cannot ask this socket, so it reads that file); null until it is first written.
   */
  readonly exportersSdFile: string | null;
}

async function handle(runtime: LocalRuntime, request: ControlRequest): Promise<unknown> {
  switch (request.verb) {
    case 'status':
      return runtime.status();
    case 'events':
      return runtime.events(request.limit);
    case 'kill':
      return { processes: await runtime.killPod(request.pod) };
    case 'pause':
      return { processes: await runtime.pausePod(request.pod) };
    case 'resume':
      return { processes: await runtime.resumePod(request.pod) };
    case 'delete': {
      const before = runtime.pod(request.pod).ip;
      await runtime.deletePod(request.pod, request.graceMs);
      return { deleted: request.pod, ip: before };
    }
    case 'partition':
      await runtime.partition(request.pods, request.from, request.ports ? { ports: request.ports } : {});
      return { partitions: (await runtime.status()).partitions };
    case 'apply':
      // Refused objects come back with what was applied, as kubectl reports both; the CLI exits 1 for them.
      return runtime
        .apply(loadManifests(request.manifests), {
          prune: request.prune ?? false,
          ...(request.pruneAllowlist ? { pruneAllowlist: request.pruneAllowlist } : {}),
          assumeCrds: request.assumeCrds,
          onRefusal: 'apply-rest',
        })
        .catch((error: unknown) => {
          if (!(error instanceof AdmissionError)) throw error;
          return { changes: [...error.applied], refused: error.refusals } satisfies ApplyResult;
        }) satisfies Promise<ApplyResult>;
    case 'heal':
      await runtime.heal();
      return { partitions: [] };
    case 'lookup':
      return { ip: runtime.lookup(request.name) ?? null };
    case 'endpoints': {
      const sdFile = runtime.paths.exportersSdFile;
      return {
        redis: await runtime.redisEndpoints(),
        exportersSdFile: existsSync(sdFile) ? sdFile : null,
      } satisfies EndpointsReply;
    }
    default:
      throw new LocalRuntimeError('E_CONTROL', `unknown verb '${(request as { verb: string }).verb}'`);
  }
}

/** Serves the fault verbs and status of `runtime` on a unix socket (one JSON request and reply per connection). */
export function serveControl(runtime: LocalRuntime, socketPath: string): Promise<Server> {
  if (existsSync(socketPath)) rmSync(socketPath);
  const server = createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      let request: ControlRequest;
      try {
        request = JSON.parse(buffer.slice(0, end)) as ControlRequest;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: 'request is not JSON', code: 'E_CONTROL' })}\n`);
        return;
      }
      handle(runtime, request).then(
        (result) => socket.end(`${JSON.stringify({ ok: true, result })}\n`),
        (error: Error & { code?: string }) =>
          socket.end(`${JSON.stringify({ ok: false, error: error.message, code: error.code ?? 'E_CONTROL' })}\n`),
      );
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

/** Sends one request to the supervisor listening on `socketPath`; throws its error with its code. */
export function control<T = unknown>(socketPath: string, request: ControlRequest, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LocalRuntimeError('E_CONTROL', `no reply to '${request.verb}' within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk) => {
      buffer += chunk;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buffer) as { ok: boolean; result?: T; error?: string; code?: string };
        if (reply.ok) resolve(reply.result as T);
        else reject(new LocalRuntimeError((reply.code as 'E_CONTROL') ?? 'E_CONTROL', reply.error ?? 'failed'));
      } catch (error) {
        reject(new LocalRuntimeError('E_CONTROL', `bad reply to '${request.verb}': ${buffer}`, { cause: error }));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new LocalRuntimeError(
          'E_NOT_UP',
          `no local runtime answers on ${socketPath} (${error.message}); run 'slotforge up'`,
          {
            cause: error,
          },
        ),
      );
    });
  });
}
