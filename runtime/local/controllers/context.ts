import type { Pod } from '../pod.ts';
import type { PodSpec, PodTemplate } from '../types.ts';

/** What a controller needs of the runtime: the live pods, and creating and deleting them. @internal */
export interface ControllerContext {
  /** The current incarnation of the pod `namespace/name`. */
  pod(key: string): Pod | undefined;
  /** The pods (current incarnations, terminating ones included) a controller owns, in creation order. */
  owned(kind: string, key: string): Pod[];
  /** Creates and starts a pod from `template`. */
  createPod(
    name: string,
    namespace: string,
    template: PodTemplate,
    owner: { kind: string; name: string },
    extra?: { subdomain?: string; volumes?: PodSpec['volumes'] },
  ): Pod;
  /** Deletes a pod gracefully; its controller creates a new one once it is gone. */
  deletePod(pod: Pod, graceMs?: number): Promise<void>;
  event(object: string, message: string): void;
  /** Scales the Job controller's back-off (tests). */
  readonly timeScale: number;
}
