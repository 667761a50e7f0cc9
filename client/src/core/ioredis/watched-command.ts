/**
 * WatchedCommand: an ioredis Command whose attempt deadline is kept by the shared AttemptWatchdog.
 * @internal Used by the ioredis folder only.
 */
import { Command } from 'ioredis';
import type { AttemptWatchdog } from '../attempt-watchdog.ts';
import type { RedisArg } from '../commands.ts';

/** Reply as Buffers (getBuffer). */
const BUFFER_REPLY = { replyEncoding: null } as const;
/** Reply as strings (call). */
const STRING_REPLY = { replyEncoding: 'utf8' } as const;

/**
 * A command whose attempt deadline is kept by the AttemptWatchdog instead of a timer of its own. ioredis calls
 * `setTimeout(commandTimeout)` when it sends a command (into the socket or an offline queue) and `transformReply` with
 * its reply: both public methods of Command, overridden here.
 */
export class WatchedCommand extends Command {
  readonly #watchdog: AttemptWatchdog;
  #ticket = -1;

  constructor(watchdog: AttemptWatchdog, name: string, args: RedisArg[], buffers = true) {
    super(name, args as (string | Buffer | number)[], buffers ? BUFFER_REPLY : STRING_REPLY);
    this.#watchdog = watchdog;
  }

  override setTimeout(_ms: number): void {
    if (this.#ticket < 0) this.#ticket = this.#watchdog.watch(this);
  }

  override transformReply(result: Buffer | Buffer[]): string | string[] | Buffer | Buffer[] {
    this.#watchdog.done(this, this.#ticket);
    return super.transformReply(result);
  }
}
