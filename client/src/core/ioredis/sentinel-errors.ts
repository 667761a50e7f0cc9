/**
 * What the sentinels said while a Sentinel client could not find its primary, for the errors callers get.
 * @internal Used by the ioredis folder only.
 */
import type { Redis } from 'ioredis';

/** ioredis' error when no sentinel gave the primary's address. */
export const SENTINELS_UNREACHABLE = /All sentinels are unreachable/;

/** A sentinel refused our credentials (ioredis' "failed to connect to sentinel ... because <reply>"). */
const AUTH_REFUSED = /NOAUTH|WRONGPASS|invalid password|invalid username-password/;

/** "all sentinels unreachable: <the last sentinel's error>" from ioredis' error. */
export function sentinelReason(error: Error): string {
  const last = /Last error: (.*)$/.exec(error.message)?.[1];
  return `all sentinels unreachable: ${last ?? error.message}`;
}

/**
 * Follows one Sentinel client's lookups of the primary. ioredis asks the sentinels in rounds; each sentinel that fails
 * emits 'sentinelError', and a round where none gave the primary ends with an 'error' "All sentinels are unreachable
 * ... Last error: <the last one's>".
 */
export class SentinelErrors {
  /** The last "All sentinels are unreachable" since the client was last ready. */
  #last: Error | undefined;
  /** The failures of the round under way. */
  #round: string[] = [];
  /** Every sentinel of the last round refused our credentials, and no connection to a primary was made since. */
  #refused = false;

  constructor(client: Redis) {
    client.on('sentinelError', (error: Error) => {
      this.#round.push(error.message);
    });
    client.on('error', (error: Error) => {
      if (!SENTINELS_UNREACHABLE.test(error.message)) return;
      this.#last = error;
      this.#refused = this.#round.length > 0 && this.#round.every((m) => AUTH_REFUSED.test(m));
      this.#round = [];
    });
    // A socket to a primary: some sentinel answered, whatever the others said.
    client.on('connect', () => {
      this.#refused = false;
      this.#round = [];
    });
    client.on('ready', () => {
      this.#last = undefined;
      this.#refused = false;
    });
  }

  /** ioredis' last "All sentinels are unreachable" error since the client was last ready. */
  get last(): Error | undefined {
    return this.#last;
  }

  /** Every sentinel refused our credentials in the last round (NOAUTH, WRONGPASS): waiting will not help. */
  get refused(): boolean {
    return this.#refused;
  }
}
