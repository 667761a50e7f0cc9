// Sessions: run by test/client/structures/docs-examples.contract.ts on every deployment.
import { type ConnectionOptions, createClient, createSessionStore, createSessions } from '@slotforge/client';
import session from 'express-session';

export async function run(connection: ConnectionOptions) {
  const client = createClient({ ...connection, namespace: 'example-sessions' });
  try {
    const sessions = client.use(createSessions, { ttlMs: 30 * 60_000 });
    const id = await sessions.create({ userId: 7, cart: [] as number[] });
    await sessions.touch(id); // rolling TTL: 30 more minutes
    const after = await sessions.regenerate(id); // after login: new id, same data, old id gone
    const data = await sessions.get<{ userId: number }>(after as string, { touch: true });

    // For express: app.use(session({ store, secret, resave: false, saveUninitialized: false }))
    const store = createSessionStore(session, sessions);
    const count = await new Promise<number>((resolve, reject) =>
      store.length?.((error, n) => (error ? reject(error) : resolve(n ?? 0))),
    );
    await sessions.clear();
    return { oldGone: (await sessions.get(id)) === undefined, userId: data?.userId, count };
  } finally {
    await client.close();
  }
}
