export { createSessionStore } from './express-store.ts';
export {
  createSessions,
  SESSIONS_DEFAULTS,
  Sessions,
  type SessionsDeps,
  type SessionsOptions,
  type SessionWriteOptions,
} from './sessions.ts';
