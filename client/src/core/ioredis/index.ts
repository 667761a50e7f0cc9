/**
 * The ONLY folder that imports ioredis: construction (create.ts), WatchedCommand, routing, the command loop and the
 * RedisCommands implementation on top of them (connection.ts). Everything else in the client sees RedisCommands.
 */

/** @internal The command loop; exported for its unit test (a stand-in host, no I/O). */
export { CommandLoop, type CommandLoopHost } from './command-loop.ts';
export { connect } from './connection.ts';
/** @internal The direct path; exported for the test that pins it to ioredis' internals. */
export { readyConnection } from './direct.ts';
/** @internal The sharded subscription audit; exported for its unit test (a hand-written subscriber group). */
export {
  type AuditedConnection,
  type AuditedGroup,
  type AuditReport,
  SubscriptionAudit,
} from './sharded-subscribers.ts';
