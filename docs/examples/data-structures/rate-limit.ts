// Rate limiting: run by test/client/structures/docs-examples.contract.ts on every deployment.
import { type ConnectionOptions, createClient, createRateLimiter } from '@slotforge/client';

export async function run(connection: ConnectionOptions) {
  const client = createClient({ ...connection, namespace: 'example-ratelimit' });
  try {
    // 5 login attempts per minute per IP, exact (sliding window log, one ZSET per IP: fine for a small limit).
    const logins = client.use(createRateLimiter, {
      name: 'login',
      limit: 5,
      windowMs: 60_000,
      algorithm: 'sliding-log',
    });
    // The default 'sliding-window' is the two-window counter: one short string per id whatever the limit.
    // 100 requests per second per API key, smooth (GCRA, one timestamp per key).
    const api = client.use(createRateLimiter, { name: 'api', limit: 100, windowMs: 1_000, algorithm: 'gcra' });

    const attempts = [];
    for (let i = 0; i < 6; i++) attempts.push(await logins.consume('203.0.113.9'));
    const last = attempts.at(-1);
    // An HTTP handler would answer 429 with `Retry-After: ${Math.ceil(last.retryAfterMs / 1000)}`.
    const call = await api.consume('key-123');
    return {
      allowed: attempts.filter((a) => a.allowed).length,
      retryAfterSeconds: last ? Math.ceil(last.retryAfterMs / 1000) : 0,
      apiRemaining: call.remaining,
    };
  } finally {
    await client.close();
  }
}
