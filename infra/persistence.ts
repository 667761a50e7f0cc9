import { k8s } from 'cdk8s-plus-27';

/** Where every member keeps nodes.conf, the AOF and RDB files. */
export const DATA_MOUNT_PATH = '/data';

/** The PVC of a member. */
export interface StorageOptions {
  /**
   * Size of each member's volume.
   * @default '1Gi' for `cache` (nodes.conf only), '8Gi' for `store`
   */
  readonly size?: string;
  /**
   * StorageClass of the volumes.
   * @default the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

/**
 * The volumeClaimTemplate named `data`. Quantities go through `k8s.Quantity.fromString` (a plain string would
 * synthesize as null).
 */
export function dataClaimTemplate(size: string, storageClassName?: string): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name: 'data' },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClassName ? { storageClassName } : {}),
      resources: { requests: { storage: k8s.Quantity.fromString(size) } },
    },
  };
}
