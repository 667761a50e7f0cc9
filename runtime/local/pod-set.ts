import type { ControllerContext } from './controllers/index.ts';
import { NodeSchedule } from './cordon.ts';
import { LocalRuntimeError } from './errors.ts';
import { Pod, type PodHost } from './pod.ts';
import type { PodSpec, PodTemplate } from './types.ts';

/**
 * The pods of a runtime, by `namespace/name` (the current incarnation of each name) plus the ones terminating:
 * what the controllers create and delete (it is their {@link ControllerContext}) and what the fault verbs find.
 */
export class PodSet implements ControllerContext {
  readonly #pods = new Map<string, Pod>();
  readonly #terminating = new Set<Pod>();
  /** `kubectl cordon`: while cordoned, the pods created wait Pending (runtime.cordon()). */
  readonly schedule = new NodeSchedule<Pod>();
  #seq = 0;
  readonly #host: PodHost;

  constructor(
    host: Omit<PodHost, 'nextSeq'>,
    readonly event: (object: string, message: string) => void,
    readonly timeScale: number,
  ) {
    this.#host = { ...host, nextSeq: () => ++this.#seq };
  }

  pod(key: string): Pod | undefined {
    return this.#pods.get(key);
  }

  owned(kind: string, key: string): Pod[] {
    return [...this.#pods.values()].filter((p) => p.owner.kind === kind && p.owner.name === key);
  }

  /** Live pods (the current incarnation of each name), sorted by name. */
  list(): Pod[] {
    return [...this.#pods.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  /** Every pod, terminating incarnations included. */
  all(): Pod[] {
    return [...this.#pods.values(), ...this.#terminating];
  }

  /** The pod named `name` (`ns/name` or a name unique across namespaces); throws E_NO_POD naming the pods there are. */
  find(name: string): Pod {
    const found = this.#pods.get(name) ?? this.list().find((p) => p.name === name);
    if (!found) {
      throw new LocalRuntimeError(
        'E_NO_POD',
        `pod '${name}' does not exist (pods: ${
          this.list()
            .map((p) => p.name)
            .join(', ') || 'none'
        })`,
      );
    }
    return found;
  }

  /** Throws when the pod template cannot run here (an unmappable image, no container). */
  validate(where: string, template: PodTemplate): void {
    // Constructing a Pod resolves every image against the table; it is thrown away unstarted.
    new Pod('validate', 'default', template.spec, {}, { kind: '', name: '' }, this.#host, undefined);
    this.#seq--;
    if (!template.spec?.containers?.length) {
      throw new LocalRuntimeError('E_MANIFEST', `${where}: spec.template.spec.containers must list a container`);
    }
  }

  createPod(
    name: string,
    namespace: string,
    template: PodTemplate,
    owner: { kind: string; name: string },
    extra?: {
      subdomain?: string;
      volumes?: PodSpec['volumes'];
    },
  ): Pod {
    const spec: PodSpec = {
      ...template.spec,
      volumes: [...(template.spec.volumes ?? []), ...(extra?.volumes ?? [])],
      subdomain: template.spec.subdomain ?? extra?.subdomain,
    };
    const pod = new Pod(
      name,
      namespace,
      spec,
      { ...(template.metadata?.labels ?? {}) },
      owner,
      this.#host,
      spec.subdomain,
    );
    this.#pods.set(`${namespace}/${name}`, pod);
    this.event(`${owner.kind}/${owner.name}`, `created pod ${name}`);
    this.schedule.schedule(pod);
    return pod;
  }

  /** Deletes a pod gracefully; its controller creates a new one once it is gone. */
  deletePod(pod: Pod, graceMs?: number): Promise<void> {
    this.#terminating.add(pod);
    return pod.delete(graceMs).finally(() => {
      this.#terminating.delete(pod);
      const key = `${pod.namespace}/${pod.name}`;
      if (this.#pods.get(key) === pod) this.#pods.delete(key);
      this.#host.changed();
    });
  }
}
