import type { Secret } from '../types.ts';
import { authorize, forbiddenMessage, type RbacPolicy, type RequestAttributes } from './rbac.ts';

/** A refusal of the API server: the status reason kubectl prints in parentheses, and the message. */
export interface ApiRefusal {
  readonly reason: 'BadRequest' | 'Invalid' | 'Forbidden' | 'RequestEntityTooLarge';
  readonly message: string;
}

/** What the runtime's kubectl runs against: the pod's identity, the object store and the API server's checks. */
export interface KubectlContext {
  /** The pod's namespace (kubectl's default namespace in a pod). */
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The object store dir; undefined where the pod has no service account token (automountServiceAccountToken false). */
  readonly api: string | undefined;
  /** The RBAC objects in force at the time of the call. */
  readonly policy: () => RbacPolicy;
  /** A path as the container sees it, as a host path (the pod's volumes at their mount paths). */
  readonly resolvePath: (path: string) => string;
  /** Admission of a Secret to create or update (strict fields, size, name); undefined when admitted. */
  readonly admit?: (object: Secret, existing: Secret | undefined) => ApiRefusal | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Exit code and output of one kubectl call. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An error kubectl prints (stderr) before it exits 1. */
export class KubectlError extends Error {}

/** Flags that take a value (as `--flag VALUE` or `--flag=VALUE`), by every spelling. */
const VALUE_FLAGS: Record<string, string> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '-o': 'output',
  '--output': 'output',
  '-f': 'filename',
  '--filename': 'filename',
  '--from-file': 'from-file',
  '--from-literal': 'from-literal',
  '--type': 'type',
  '--field-manager': 'field-manager',
  '--validate': 'validate',
};
const BOOLEAN_FLAGS = new Set(['--server-side', '--force-conflicts']);

/** Positional arguments, flags with values, and switches of one kubectl call. */
export interface Parsed {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
  readonly switches: Set<string>;
}

/** Parses kubectl's arguments; an unknown flag is kubectl's `unknown flag` error. */
export function parse(args: readonly string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      parsed.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS.has(flag)) {
      parsed.switches.add(flag.slice(2));
      continue;
    }
    const name = VALUE_FLAGS[flag];
    if (!name) throw new KubectlError(`error: unknown flag: ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new KubectlError(`error: flag needs an argument: ${flag}`);
    parsed.flags.set(name, [...(parsed.flags.get(name) ?? []), value]);
  }
  return parsed;
}

/** The last value of a flag. */
export const one = (p: Parsed, name: string) => p.flags.get(name)?.at(-1);

/** The authorizer attributes of a request on Secrets by the pod's service account. */
export function request(ctx: KubectlContext, verb: string, namespace: string, name: string): RequestAttributes {
  return {
    user: { namespace: ctx.namespace, serviceAccount: ctx.serviceAccount },
    verb,
    apiGroup: '',
    resource: 'secrets',
    namespace,
    name,
  };
}

/** Throws the API server's Forbidden (as `prefix` + message) unless RBAC allows the request. */
export function check(ctx: KubectlContext, attrs: RequestAttributes, prefix = 'Error from server (Forbidden): '): void {
  if (!authorize(ctx.policy(), attrs)) throw new KubectlError(`${prefix}${forbiddenMessage(attrs)}`);
}
