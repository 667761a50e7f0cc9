/**
 * The image references slotforge deploys, each checked against the upstream record that publishes its tag. This is
 * data, not code: the runtime's image table (images.ts) and the infra defaults read it, and
 * test/infra/images.test.ts fails when a synthesized chart names an image that is not listed here, or a
 * `bitnami` image (Bitnami removed its versioned tags from docker.io in 2025, bitnami/containers#83267).
 *
 * To add or bump a reference: read the upstream file at its newest commit, write the tag, the file, the commit and the
 * date you read it, and how close the local runtime's recipe is.
 */

/** Where a tag was checked and what was seen there. */
export interface UpstreamCheck {
  /** The upstream record, as a URL a reviewer can open. */
  readonly source: string;
  /** Commit of that repository that was read (git show COMMIT:FILE). */
  readonly commit: string;
  /** Date the commit was read, ISO `YYYY-MM-DD`. */
  readonly checkedOn: string;
  /** What the record says about this tag, in one or two sentences. */
  readonly evidence: string;
}

/** How near the local runtime's recipe (Debian packages on trixie) comes to the deployed image. */
export interface LocalCloseness {
  /** Debian package and version the recipe installs, e.g. `redis-server 5:8.0.2-3+deb13u3 (trixie-security)`. */
  readonly debianPackage: string;
  /** Same upstream line (major.minor for Redis; same program for the exporter)? */
  readonly sameLine: boolean;
  /** What differs, in words. */
  readonly note: string;
}

/** One verified image reference. */
export interface VerifiedImageReference {
  /** The exact reference manifests carry, e.g. `redis:8.0.6`. */
  readonly reference: string;
  /** Is the line still receiving releases upstream on `checkedOn`? A `false` here is a finding to act on. */
  readonly lineMaintained: boolean;
  readonly upstream: UpstreamCheck;
  readonly local: LocalCloseness;
}

/** Date the references below were read upstream. */
export const IMAGE_REFERENCES_CHECKED_ON = '2026-12-04';

/**
 * The deployed Redis image. The project's line is Redis 8; the local runtime and every test run Debian trixie's
 * 8.0.2 with Debian's security backports. Upstream dropped the 8.0 line from library/redis on 2026-05-07 (its last tag,
 * 8.0.6, misses the security releases of 2026-05-05, 2026-07-24 and 2026-08-18), so the charts deploy the oldest
 * maintained 8.x line instead: 8.2.9, whose security fixes are the ones Debian's 8.0.2-3+deb13u3 backports. The gap
 * (8.0 tested, 8.2 shipped) is written down in {@link VERIFIED_IMAGE_REFERENCES} and docs/cluster-setup.md.
 */
export const REDIS_IMAGE = 'redis:8.2.9';

/**
 * The auth Job's kubectl: the Kubernetes project's own image (registry.k8s.io/kubectl, published for every release
 * since v1.28: kubernetes/kubernetes#116672, kubernetes/sig-release#2260). kubectl only, no shell.
 */
export const KUBECTL_IMAGE = 'registry.k8s.io/kubectl:v1.34.3';

/** The deployed exporter image: the newest oliver006/redis_exporter release tag. */
export const REDIS_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.88.0';

/** Every image reference slotforge's charts may carry, checked upstream. */
export const VERIFIED_IMAGE_REFERENCES: readonly VerifiedImageReference[] = [
  {
    reference: REDIS_IMAGE,
    lineMaintained: true,
    upstream: {
      source:
        'https://github.com/docker-library/official-images/blob/32dbe4eb08739ff48023b8e0d5620c2bd5146ca3/library/redis',
      commit: '32dbe4eb08739ff48023b8e0d5620c2bd5146ca3',
      checkedOn: IMAGE_REFERENCES_CHECKED_ON,
      evidence:
        'library/redis at 32dbe4eb (2026-08-18, newest commit of the file; repository HEAD 37079fb3 of 2026-08-21) lists ' +
        '"Tags: 8.2.9, 8.2, 8.2.9-bookworm, 8.2-bookworm", GitCommit 7dc061ece8b871fe66cc67fec22b9c5f23d5e9f1, ' +
        'GitFetch refs/tags/v8.2.9, Directory debian. The 8.0 line is gone from the file since 165262a5 ' +
        '(2026-05-07, #21400); the last commit listing it, 04625369, had 8.0.6.',
    },
    local: {
      debianPackage: 'redis-server 5:8.0.2-3+deb13u3 (trixie-security)',
      sameLine: false,
      note:
        "same major (8), other minor: the local runtime runs Debian's 8.0.2 with the security fixes up to upstream " +
        '8.2.9 backported (changelog.Debian.gz of +deb13u3); 8.2 adds commands and options 8.0 lacks (e.g. COMMANDLOG, ' +
        'CLUSTER SLOT-STATS) that nothing in slotforge uses. No Debian suite has 8.2 (sid and forky carry 8.0.6-3 on ' +
        '2026-12-04), so the 8.2 binary itself is not what the tests run.',
    },
  },
  {
    reference: KUBECTL_IMAGE,
    lineMaintained: true,
    upstream: {
      source:
        'https://github.com/kubernetes/kubernetes/blob/034debc18008c8ebfe1971d7d402dcf2b50b84c2/CHANGELOG/CHANGELOG-1.34.md',
      commit: '034debc18008c8ebfe1971d7d402dcf2b50b84c2',
      checkedOn: IMAGE_REFERENCES_CHECKED_ON,
      evidence:
        'registry.k8s.io/kubectl is built and promoted with every Kubernetes release since v1.28 ' +
        '(kubernetes/kubernetes#116672, kubernetes/sig-release#2260); CHANGELOG-1.34.md at 034debc1 lists registry.k8s.io/kubectl:v1.34.3 ' +
        '(amd64, arm64, ppc64le, s390x) under the v1.34.3 "Container Images", the newest 1.34 patch in that file. The field moved its kubectl Jobs there from bitnami/kubectl in 2025.',
    },
    local: {
      debianPackage: "none: the runtime's built-in kubectl (runtime/local/kubectl/)",
      sameLine: false,
      note:
        "the runtime runs its own kubectl for this image: get/create/apply of Secrets under the pod's RBAC, no shell, " +
        'like the upstream image (kubectl only). Other kubectl commands are not reproduced.',
    },
  },
  {
    reference: REDIS_EXPORTER_IMAGE,
    lineMaintained: true,
    upstream: {
      source: 'https://github.com/oliver006/redis_exporter/releases/tag/v1.88.0',
      commit: 'cd5941f16199f1f1fa9c12b3bf24b509875c955a',
      checkedOn: IMAGE_REFERENCES_CHECKED_ON,
      evidence:
        'newest tag v1.88.0 (16db88a0c2981c365aeca0973c43dd7d6a560f64, 2026-07-23); master cd5941f1 of 2026-08-05. ' +
        '.github/workflows/release.yml pushes each v* tag as oliver006/redis_exporter:<tag>, ghcr.io and quay.io ' +
        '(docker/metadata-action, scratch image, USER 59000, ENTRYPOINT /redis_exporter). The settings the construct ' +
        'passes (REDIS_ADDR, REDIS_USER, REDIS_PASSWORD, REDIS_EXPORTER_WEB_LISTEN_ADDRESS, REDIS_EXPORTER_TLS_*) and ' +
        '/health exist in v1.88.0 (main.go, exporter/exporter.go).',
    },
    local: {
      debianPackage: 'prometheus-redis-exporter 1.69.0-1 (trixie)',
      sameLine: true,
      note:
        'same program and flags, 19 minor releases older than v1.88.0; the upstream image is a static binary on ' +
        'scratch (no shell), the recipe a Debian minbase. The host (Debian 12) ships 1.45.0. v1.88.0 also sends ' +
        'COMMANDLOG LEN (Redis 8.2), which the exporter ACL user (infra/security/acl.ts) does not grant (Redis 8.0 ' +
        'refuses an ACL rule naming a command it does not know): expect NOPERM for it on redis:8.2.9 and no ' +
        'commandlog length metrics (read from the source, not run). LATENCY HISTOGRAM is granted.',
    },
  },
];

/** The verified entry for `image`, or undefined. Only an exact reference counts: a tag is what was checked. */
export function verifiedReference(image: string): VerifiedImageReference | undefined {
  const bare = image.replace(/^docker\.io\/(library\/)?/, '');
  return VERIFIED_IMAGE_REFERENCES.find((r) => r.reference === bare);
}

/** True for any image of Bitnami's Docker Hub namespaces (`bitnami/*`, `bitnamilegacy/*`, with or without docker.io). */
export function isBitnamiImage(image: string): boolean {
  return /^(docker\.io\/)?bitnami(legacy|secure)?\//.test(image);
}
