import type { SessionData, Store } from 'express-session';
import { invalidOption } from '../core/index.ts';
import type { Sessions } from './sessions.ts';

/**
 * An express-session Store over `Sessions`. express-session stays an optional peer: this file never imports it at
 * runtime; the caller passes the module, and the store class extends its `Store` (connect-redis' classic
 * `require('connect-redis')(session)` shape), so express-session's `regenerate`, `load` and `createSession` work.
 *
 * Every method is cluster safe: `all`, `length` and `clear` SCAN every master and read/delete in batches grouped by
 * slot and node; nothing uses KEYS or a multi-key command across slots.
 *
 * @example
 * import session from 'express-session'
 * const sessions = client.use(createSessions, { ttlMs: 86_400_000 })
 * app.use(session({ store: createSessionStore(session, sessions), secret, resave: false, saveUninitialized: false }))
 * @see https://github.com/expressjs/session#session-store-implementation
 */
export function createSessionStore(
  expressSession: { readonly Store: abstract new () => Store },
  sessions: Sessions,
): Store {
  if (!expressSession || typeof expressSession.Store !== 'function') {
    throw invalidOption(
      'expressSession',
      "the express-session module (import session from 'express-session')",
      expressSession,
    );
  }
  const Base = expressSession.Store as unknown as new () => Store;
  type Callback<T = void> = (error?: unknown, value?: T) => void;

  /** TTL of a session from its cookie (maxAge in ms), else the module's. */
  const ttlOf = (session: SessionData): number | undefined => {
    const maxAge = session?.cookie?.maxAge;
    return typeof maxAge === 'number' ? Math.floor(maxAge) : undefined;
  };

  const run = <T>(promise: Promise<T>, callback: Callback<T> | undefined): void => {
    promise.then(
      (value) => callback?.(null, value),
      (error: unknown) => callback?.(error),
    );
  };

  class SlotforgeSessionStore extends Base {
    override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
      run(
        sessions.get<SessionData>(sid).then((s) => s ?? null),
        callback as Callback<SessionData | null>,
      );
    }

    override set(sid: string, session: SessionData, callback?: (err?: unknown) => void): void {
      const ttlMs = ttlOf(session);
      // An expired cookie means the browser drops it: drop the session too rather than store a zero TTL.
      const work =
        ttlMs !== undefined && ttlMs <= 0
          ? sessions.destroy(sid).then(() => undefined)
          : sessions.set(sid, session, ttlMs === undefined ? {} : { ttlMs });
      run(work, callback);
    }

    override touch(sid: string, session: SessionData, callback?: () => void): void {
      const ttlMs = ttlOf(session);
      run(
        sessions.touch(sid, ttlMs === undefined || ttlMs <= 0 ? {} : { ttlMs }).then(() => undefined),
        callback as Callback,
      );
    }

    override destroy(sid: string, callback?: (err?: unknown) => void): void {
      run(
        sessions.destroy(sid).then(() => undefined),
        callback,
      );
    }

    override all(callback: (err: unknown, obj?: { [sid: string]: SessionData } | null) => void): void {
      run(
        sessions.all<SessionData>().then((map) => Object.fromEntries(map)),
        callback as Callback<{ [sid: string]: SessionData }>,
      );
    }

    override length(callback: (err: unknown, length?: number) => void): void {
      run(sessions.count(), callback as Callback<number>);
    }

    override clear(callback?: (err?: unknown) => void): void {
      run(
        sessions.clear().then(() => undefined),
        callback,
      );
    }
  }
  return new SlotforgeSessionStore();
}
