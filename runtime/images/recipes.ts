/**
 * Image recipes: each image the manifests may use is a short, reviewed list of Debian packages on a Debian suite,
 * plus the configuration its official image declares (USER, WORKDIR, ENTRYPOINT, CMD, ENV). The builder
 * (build.ts) turns a recipe into a root file system with `mmdebstrap --variant=minbase`; the cache keys it by the
 * hash of the recipe, so changing a line here builds a new image and leaves the old one untouched.
 */

/** The configuration an OCI image carries beside its files (what `docker inspect` shows under Config). */
export interface ImageConfig {
  /** `uid` or `uid:gid`, numeric (a manifest's runAsUser/runAsGroup override it). */
  readonly user: string;
  readonly workingDir: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** A file written into the rootfs after the packages are installed. */
export interface RecipeFile {
  readonly path: string;
  readonly content: string;
  /** @default 0o644 */
  readonly mode?: number;
}

/** One image, reproduced from Debian packages. */
export interface ImageRecipe {
  /** Directory name in the cache (with the hash) and key of {@link RECIPES}. */
  readonly name: string;
  /** What it stands for, for people: the official image it mirrors and how close it is. */
  readonly standsFor: string;
  /** Debian suites, in order; a security suite makes the patched packages win. */
  readonly suites: readonly string[];
  /** The only packages installed beyond the minbase variant (Essential + Priority required + apt). */
  readonly packages: readonly string[];
  /** Users created BEFORE the packages install, so the package scripts find them with the official image's ids. */
  readonly users?: ReadonlyArray<{ name: string; uid: number; gid: number; home: string }>;
  /** Directories created after the install, e.g. the WORKDIR owned by the image's user. */
  readonly dirs?: ReadonlyArray<{ path: string; uid: number; gid: number; mode: number }>;
  readonly files?: readonly RecipeFile[];
  /**
   * Strict images: only these files of the built system are kept (`from` in the minbase, `to` in the image), plus
   * the shared libraries and loader they need, found with the loader's `--list`. Everything else, shell included, is
   * dropped, like an image built `FROM scratch`.
   */
  readonly keepOnly?: ReadonlyArray<{ from: string; to: string }>;
  /** Directories of the built system copied whole into a strict image (e.g. the CA certificates). */
  readonly keepDirs?: readonly string[];
  readonly config: ImageConfig;
  /**
   * Programs of the image harness processes (tests, bench, chaos's local target) run on the host through the
   * rootfs's own loader, without root: name -> path inside the rootfs.
   */
  readonly hostPrograms?: Readonly<Record<string, string>>;
}

/** The Debian mirror every image is built from. */
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
/** Where Debian's security updates are published (the `SUITE-security` suites). */
export const DEBIAN_SECURITY_MIRROR = 'http://deb.debian.org/debian-security';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The official image's entrypoint, reproduced: a first argument that is an option or a `.conf` file runs
 * redis-server with it; started as root to run redis-server, it hands the files of its working dir to `redis` and
 * drops to that user (the official image uses gosu; Debian's util-linux has setpriv for the same job); a default
 * umask of 0022 becomes 0077. The official image compiles Redis with protected mode off (containers publish ports
 * explicitly); Debian's build keeps it on, so without a config file this passes `--protected-mode no` first (later
 * options still override it). With a config file, set `protected-mode` in it (the charts do).
 * @see https://github.com/docker-library/redis (8.0/debian/docker-entrypoint.sh, Dockerfile)
 */
const REDIS_ENTRYPOINT = `#!/bin/sh
set -e
case "$1" in
  -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  case "\${2:-}" in
    *.conf) ;;
    *) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \\! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then
  umask 0077
fi
exec "$@"
`;

/**
 * The official `redis:8.0.x` image (Debian-based, docker-library): Debian trixie's Redis 8.0.2 with Debian's
 * security backports (trixie-security), user `redis` 999:999, WORKDIR /data, ENTRYPOINT docker-entrypoint.sh, CMD
 * redis-server. It differs in the build (upstream compiles 8.0.x itself; Debian patches 8.0.2) and in holding
 * redis-tools/redis-sentinel as packages (the official image links redis-sentinel to redis-server too).
 */
const REDIS: ImageRecipe = {
  name: 'redis',
  standsFor:
    'redis:8.0.x / 8.2.x (official image, Debian variant): Debian trixie build 8.0.2 with security fixes through upstream 8.2.9',
  suites: ['trixie', 'trixie-security'],
  packages: ['redis-server', 'redis-tools', 'redis-sentinel'],
  users: [{ name: 'redis', uid: 999, gid: 999, home: '/var/lib/redis' }],
  dirs: [{ path: '/data', uid: 999, gid: 999, mode: 0o755 }],
  files: [{ path: '/usr/local/bin/docker-entrypoint.sh', content: REDIS_ENTRYPOINT, mode: 0o755 }],
  config: {
    // The official image declares no USER: it starts as root and its entrypoint drops to redis (999).
    user: '0:0',
    workingDir: '/data',
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['redis-server'],
    env: { PATH: DEFAULT_PATH },
  },
  hostPrograms: {
    'redis-server': '/usr/bin/redis-server',
    'redis-sentinel': '/usr/bin/redis-sentinel',
    'redis-cli': '/usr/bin/redis-cli',
    'redis-check-aof': '/usr/bin/redis-check-aof',
    'redis-check-rdb': '/usr/bin/redis-check-rdb',
    'redis-benchmark': '/usr/bin/redis-benchmark',
  },
};

/**
 * `oliver006/redis_exporter`: upstream builds it `FROM scratch` holding only `/redis_exporter` and the CA
 * certificates, running as 59000:59000. Debian's build (trixie, 1.69) is dynamically linked, so this image also holds
 * glibc's loader and libc; there is no shell, no coreutils, nothing else.
 */
const REDIS_EXPORTER: ImageRecipe = {
  name: 'redis-exporter',
  standsFor:
    'oliver006/redis_exporter (scratch image): Debian trixie prometheus-redis-exporter 1.69, binary + libc only',
  suites: ['trixie', 'trixie-security'],
  packages: ['prometheus-redis-exporter', 'ca-certificates'],
  keepOnly: [{ from: '/usr/bin/prometheus-redis-exporter', to: '/redis_exporter' }],
  keepDirs: ['/etc/ssl/certs', '/usr/share/ca-certificates'],
  config: {
    user: '59000:59000',
    workingDir: '/',
    entrypoint: ['/redis_exporter'],
    cmd: [],
    env: { PATH: DEFAULT_PATH },
  },
  hostPrograms: { redis_exporter: '/redis_exporter' },
};

/**
 * `redis:7.0.15` (official image, Debian variant), the line slotforge shipped before 8: Debian 12's 7.0.15 with
 * Debian's security backports. Only the upgrade test (test/infra/upgrade-7-to-8.test.ts) runs it, as the version an
 * upgrade starts from; no chart deploys it.
 */
const REDIS_7_0: ImageRecipe = {
  ...REDIS,
  name: 'redis-7.0',
  standsFor: 'redis:7.0.15 (official image, Debian variant): Debian bookworm build 7.0.15+security; upgrade tests only',
  suites: ['bookworm', 'bookworm-security'],
  packages: ['redis-server', 'redis-tools'],
  hostPrograms: { 'redis-server': '/usr/bin/redis-server', 'redis-cli': '/usr/bin/redis-cli' },
};

/** Every recipe by name. The kubectl image is not here: the runtime's kubectl is built in (images.ts). */
export const RECIPES = {
  redis: REDIS,
  'redis-exporter': REDIS_EXPORTER,
  'redis-7.0': REDIS_7_0,
} as const satisfies Record<string, ImageRecipe>;

/** Name of a recipe in {@link RECIPES}. */
export type RecipeName = keyof typeof RECIPES;
