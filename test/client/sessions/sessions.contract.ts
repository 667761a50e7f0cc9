import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSessionStore, createSessions, keySlot } from '@slotforge/client';
import session from 'express-session';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

type Req = IncomingMessage & { session: session.Session & Record<string, unknown>; sessionID: string };

/** A real express-session middleware on a bare node:http server (express is not needed by express-session). */
async function withApp(
  store: session.Store,
  route: (req: Req, res: ServerResponse) => Promise<void> | void,
  body: (
    request: (path: string, cookie?: string) => Promise<{ text: string; cookie: string | undefined }>,
  ) => Promise<void>,
): Promise<void> {
  const middleware = session({ store, secret: 'contract', resave: false, saveUninitialized: false, name: 'sid' });
  const server = createServer((req, res) => {
    middleware(req as never, res as never, (error?: unknown) => {
      if (error) {
        res.statusCode = 500;
        res.end(String(error));
        return;
      }
      Promise.resolve(route(req as Req, res)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    await body(async (path, cookie) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie } : {} });
      const setCookie = response.headers.get('set-cookie');
      return { text: await response.text(), cookie: setCookie ? setCookie.split(';')[0] : undefined };
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const call = <T>(fn: (cb: (error: unknown, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

/** Sessions and the express-session Store: the same on standalone, cluster and sentinel. */
export default function sessionsContract(fixture: ContractFixture): void {
  it('creates, reads, touches and destroys; a falsy session value is data, not a miss (seed regression)', async () => {
    const client = fixture.client();
    const sessions = client.use(createSessions, { ttlMs: 5_000 });
    const id = await sessions.create({ user: 'ada', at: new Date(5) });
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await sessions.get(id)).toEqual({ user: 'ada', at: new Date(5) });
    for (const value of [0, '', false, null]) {
      const falsy = await sessions.create(value);
      expect(await sessions.get(falsy)).toBe(value);
    }
    expect(await sessions.get('no-such-session')).toBeUndefined();
    const key = sessions.keyOf(id);
    await client.commands.call('PEXPIRE', [key, 1_000]);
    expect(await sessions.touch(id)).toBe(true);
    expect(Number(await client.commands.call('PTTL', [key]))).toBeGreaterThan(4_000);
    await client.commands.call('PEXPIRE', [key, 1_000]);
    expect(await sessions.get(id, { touch: true })).toBeDefined();
    expect(Number(await client.commands.call('PTTL', [key]))).toBeGreaterThan(4_000);
    expect(await sessions.destroy(id)).toBe(true);
    expect(await sessions.destroy(id)).toBe(false);
    expect(await sessions.touch(id)).toBe(false);
    expect(await sessions.get(id)).toBeUndefined();
  });

  it('regenerates: a new id with the same data and TTL, the old id gone', async () => {
    const client = fixture.client();
    const sessions = client.use(createSessions, { ttlMs: 60_000 });
    const old = await sessions.create({ cart: [1, 2] }, { ttlMs: 30_000 });
    const next = await sessions.regenerate(old);
    expect(next).toBeDefined();
    expect(next).not.toBe(old);
    expect(await sessions.get(old)).toBeUndefined();
    expect(await sessions.get(next as string)).toEqual({ cart: [1, 2] });
    const pttl = Number(await client.commands.call('PTTL', [sessions.keyOf(next as string)]));
    expect(pttl).toBeGreaterThan(25_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
    expect(await sessions.regenerate(old)).toBeUndefined();
  });

  it('lists, counts and clears sessions spread over every slot, and only its own prefix', async () => {
    const client = fixture.client();
    const sessions = client.use(createSessions, {});
    const others = client.use(createSessions, { prefix: 'other' });
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => sessions.create({ i })));
    const survivor = await others.create({ keep: true });
    expect(new Set(ids.map((id) => keySlot(sessions.keyOf(id)))).size).toBeGreaterThan(50);
    expect(await sessions.count()).toBe(60);
    const all = await sessions.all<{ i: number }>();
    expect([...all.keys()].sort()).toEqual([...ids].sort());
    expect([...all.values()].map((v) => v.i).sort((a, b) => a - b)).toEqual(ids.map((_, i) => i));
    expect(await sessions.clear()).toBe(60);
    expect(await sessions.count()).toBe(0);
    expect(await others.get(survivor)).toEqual({ keep: true });
  });

  it('backs a real express-session middleware: login, reuse, regenerate, all/length/clear', async () => {
    const client = fixture.client();
    const sessions = client.use(createSessions, {});
    const store = createSessionStore(session, sessions);
    await withApp(
      store,
      async (req, res) => {
        if (req.url === '/login') {
          req.session.user = 'ada';
          req.session.visits = 0;
        } else if (req.url === '/regenerate') {
          const user = req.session.user;
          await new Promise<void>((resolve, reject) => req.session.regenerate((e) => (e ? reject(e) : resolve())));
          req.session.user = user;
          req.session.visits = 0;
        } else if (req.url === '/logout') {
          await new Promise<void>((resolve, reject) => req.session.destroy((e) => (e ? reject(e) : resolve())));
          res.end('bye');
          return;
        } else if (req.session.user !== undefined) {
          req.session.visits = (req.session.visits as number) + 1;
        }
        res.end(JSON.stringify({ user: req.session.user ?? null, visits: req.session.visits ?? null }));
      },
      async (request) => {
        expect((await request('/')).text).toBe('{"user":null,"visits":null}');
        expect(await call<number>((cb) => store.length!(cb))).toBe(0);
        const login = await request('/login');
        expect(login.cookie).toMatch(/^sid=/);
        const cookie = login.cookie as string;
        expect((await request('/', cookie)).text).toBe('{"user":"ada","visits":1}');
        expect((await request('/', cookie)).text).toBe('{"user":"ada","visits":2}');
        expect(await call<number>((cb) => store.length!(cb))).toBe(1);
        const all = await call<Record<string, { user: string; cookie: { originalMaxAge: unknown } }>>((cb) =>
          store.all?.(cb as never),
        );
        const [oldId] = Object.keys(all ?? {});
        expect(all?.[oldId as string]?.user).toBe('ada');
        const regenerated = await request('/regenerate', cookie);
        expect(regenerated.cookie).toBeDefined();
        expect(regenerated.cookie).not.toBe(cookie);
        expect(await sessions.get(oldId as string)).toBeUndefined();
        expect((await request('/', cookie)).text).toBe('{"user":null,"visits":null}');
        expect((await request('/', regenerated.cookie)).text).toBe('{"user":"ada","visits":1}');
        expect((await request('/logout', regenerated.cookie)).text).toBe('bye');
        expect(await call<number>((cb) => store.length!(cb))).toBe(0);
        await request('/login');
        await request('/login');
        expect(await call<number>((cb) => store.length!(cb))).toBe(2);
        await call((cb) => store.clear?.(cb as never));
        expect(await call<number>((cb) => store.length!(cb))).toBe(0);
      },
    );
  });

  it('stores a session with a cookie maxAge for that long, and drops it when maxAge <= 0', async () => {
    const client = fixture.client();
    const sessions = client.use(createSessions, { ttlMs: 60_000 });
    const store = createSessionStore(session, sessions);
    const data = { cookie: { originalMaxAge: 5_000, maxAge: 5_000 }, n: 1 } as unknown as session.SessionData;
    await call((cb) => store.set('s1', data, cb));
    const pttl = Number(await client.commands.call('PTTL', [sessions.keyOf('s1')]));
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
    expect(await call((cb) => store.get('s1', cb))).toMatchObject({ n: 1 });
    await call((cb) => store.set('s1', { ...data, cookie: { maxAge: 0 } } as never, cb));
    expect(await call((cb) => store.get('s1', cb))).toBeNull();
    expect(() => createSessionStore({} as never, sessions)).toThrow(
      /option expressSession must be the express-session module/,
    );
  });
}
