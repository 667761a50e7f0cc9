/**
 * Connection URLs: `redis://`, `rediss://`, `redis+cluster://` and `redis+sentinel://` (see ConnectionOptions.url).
 */
import { CONNECTION_DEFAULTS, type ConnectionOptions, type HostPort, type Target } from './options.ts';
import { invalidOption } from './validate.ts';

/** Appended to a url's error when a password may hold a reserved character. */
const PASSWORD_HINT = " (a '#', '/', '@' or '?' in a password must be percent-encoded: %23, %2F, %40, %3F)";

/** `shown` is what the error prints (for a url: the url with its passwords masked). */
function parseHostPort(text: string, option: string, shown = text): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text) ?? /^([^:]+)$/.exec(text);
  const host = match?.[1];
  const port = match?.[2] === undefined ? CONNECTION_DEFAULTS.port : Number(match[2]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidOption(
      option,
      `host:port with a port between 1 and 65535${shown === text ? '' : PASSWORD_HINT}`,
      shown,
    );
  }
  return { host, port };
}

/** Parses a connection URL (see ConnectionOptions.url). */
export function parseRedisUrl(url: string): Partial<ConnectionOptions> & { target: Target } {
  const match =
    /^(redis|rediss|redis\+cluster|rediss\+cluster|redis\+sentinel|rediss\+sentinel):\/\/(?:([^@/]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(
      url,
    );
  if (!match) {
    // A URL has no fragment here: a '#' is a password character that was not percent-encoded.
    const hint = url.includes('#') ? PASSWORD_HINT : '';
    throw invalidOption(
      'url',
      `redis://[user:password@]host:port[/db], redis+cluster://host:port,... or redis+sentinel://host:port,.../masterName${hint}`,
      redactUrl(url),
    );
  }
  const [, scheme = 'redis', auth, hosts = '', path = '', query = ''] = match;
  const params = parseQuery(query, scheme.endsWith('+sentinel') ? SENTINEL_URL_PARAMS : [], url);
  const tls = scheme.startsWith('rediss');
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    if (colon === -1) password = decodeURIComponent(auth);
    else {
      username = decodeURIComponent(auth.slice(0, colon)) || undefined;
      password = decodeURIComponent(auth.slice(colon + 1));
    }
  }
  const addresses = hosts
    .split(',')
    .filter((h) => h.length > 0)
    .map((h) => parseHostPort(h, 'url', redactUrl(url)));
  const first = addresses[0] ?? { host: CONNECTION_DEFAULTS.host, port: CONNECTION_DEFAULTS.port };
  const base = {
    tls,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
  if (scheme.endsWith('+cluster')) {
    if (addresses.length === 0) throw invalidOption('url', 'a cluster URL with at least one seed node', redactUrl(url));
    return { ...base, target: { mode: 'cluster', nodes: addresses } };
  }
  if (scheme.endsWith('+sentinel')) {
    const [masterName = '', dbText, ...extra] = path.split('/');
    if (addresses.length === 0 || masterName === '' || extra.length > 0) {
      throw invalidOption('url', 'a sentinel URL with sentinel addresses and /masterName[/db]', redactUrl(url));
    }
    return {
      ...base,
      ...(dbText === undefined || dbText === '' ? {} : { db: parseDb(dbText, url) }),
      target: {
        mode: 'sentinel',
        sentinels: addresses,
        masterName: decodeURIComponent(masterName),
        sentinelPassword: params.get('sentinelPassword'),
        sentinelUsername: params.get('sentinelUsername'),
      },
    };
  }
  if (addresses.length > 1) throw invalidOption('url', 'one host (use redis+cluster:// for several)', redactUrl(url));
  const db = path === '' ? undefined : parseDb(path, url);
  return { ...base, ...(db === undefined ? {} : { db }), target: { mode: 'standalone', ...first } };
}

/** Query parameters a Sentinel URL accepts (the sentinels' own credentials, named like ioredis' options). */
const SENTINEL_URL_PARAMS = ['sentinelPassword', 'sentinelUsername'] as const;

function parseQuery(query: string, allowed: readonly string[], url: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const [name, value] of new URLSearchParams(query)) {
    if (!allowed.includes(name)) {
      const rule = allowed.length === 0 ? 'no query parameters' : `query parameters among ${allowed.join(', ')}`;
      throw invalidOption('url', `${rule} (unknown '${name}')`, redactUrl(url));
    }
    params.set(name, value);
  }
  return params;
}

function parseDb(text: string, url: string): number {
  const db = Number(text);
  if (!Number.isInteger(db) || db < 0 || text === '')
    throw invalidOption('url', 'a database number >= 0 after /', redactUrl(url));
  return db;
}

/** The url with its passwords replaced by '***', for error messages. */
export function redactUrl(url: string): string {
  // Up to the last '@' and the next '&': a password with an unencoded '/', '@' or '#' is still masked whole.
  return url.replace(/\/\/([^@/:]*):.*@/, '//$1:***@').replace(/([?&]sentinelPassword=)[^&]*/g, '$1***');
}
