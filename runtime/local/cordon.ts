/** What the scheduler holds back: a pod that can be started later. */
export interface Schedulable {
  readonly name: string;
  reason: string;
  start(): void;
}

/**
 * The node's schedulability, as `kubectl cordon` / `uncordon` set it: while cordoned, pods the controllers create
 * stay Pending (reason `Unschedulable`, no address, no container) and start, in creation order, at `uncordon`. Pods
 * that run already keep running, and their containers still restart in place. Tests use it to keep a deleted pod
 * down while they change its volume, as a real cluster does when no node can take the pod.
 * @see https://kubernetes.io/docs/reference/kubectl/generated/kubectl_cordon/
 */
export class NodeSchedule<T extends Schedulable = Schedulable> {
  #cordoned = false;
  readonly #waiting: T[] = [];

  get cordoned(): boolean {
    return this.#cordoned;
  }

  /** Starts `pod` now, or when the node is uncordoned. */
  schedule(pod: T): void {
    if (!this.#cordoned) {
      pod.start();
      return;
    }
    pod.reason = 'Unschedulable';
    this.#waiting.push(pod);
  }

  cordon(): void {
    this.#cordoned = true;
  }

  /** Starts every pod held back, oldest first; `skip` drops those deleted meanwhile. */
  uncordon(skip: (pod: T) => boolean = () => false): void {
    this.#cordoned = false;
    for (const pod of this.#waiting.splice(0)) {
      if (skip(pod)) continue;
      pod.reason = '';
      pod.start();
    }
  }
}
