/**
 * One node's group of a batch, sent as watched commands.
 * @internal Used by the ioredis folder only.
 */
import type { Pipeline } from 'ioredis';
import type { AttemptWatchdog } from '../attempt-watchdog.ts';
import type { BatchCommand } from '../commands.ts';
import type { WriteCoalescer } from '../write-coalescer.ts';
import type { Client } from './create.ts';
import { readyConnection, sendDirect } from './direct.ts';
import { WatchedCommand } from './watched-command.ts';

/** One node's share of a batch. */
export interface Group {
  /** The node serving every command of the group, as the slot map names it (`host:port`). */
  readonly node: string;
  readonly group: readonly BatchCommand[];
  readonly buffers: boolean;
  /** Commands may go straight to the node's connection (cluster, reads from masters). */
  readonly direct: boolean;
}

/** Sends a group through `client` and resolves with the replies in ioredis' pipeline shape (`[error, value]`). */
export function execGroup(
  client: Client,
  coalescer: WriteCoalescer | null,
  watchdog: AttemptWatchdog,
  { node, group, buffers, direct }: Group,
): Promise<[Error | null, unknown][] | null> {
  if (coalescer) {
    // The group's commands leave in one write per node (corked until the end of this tick), as a pipeline
    // would, without ioredis' Pipeline (its promise bookkeeping and a slot check per command) and with the
    // attempt deadline kept by the watchdog (WatchedCommand) instead of a timer per command (issue 16 bench).
    coalescer.hold(true);
    const watched = (c: BatchCommand) => new WatchedCommand(watchdog, c.command, [...c.args], buffers);
    const send = (c: BatchCommand) => client.sendCommand(watched(c)) as Promise<unknown>;
    const connection = direct ? readyConnection(client, node) : undefined;
    if (connection) {
      // Straight to the node: ioredis' cluster routing (slot lookup, key extraction and flag checks per command)
      // costs about a quarter of a 100-key batch (bench, issue 16). A reply that says the slot is elsewhere or
      // busy (the command did not run) is sent again through the cluster client, which follows the redirection.
      return Promise.all(
        group.map((c) => sendDirect(connection, client, watched(c), () => watched(c)).then(replyOk, replyError)),
      );
    }
    return Promise.all(group.map((c) => send(c).then(replyOk, replyError)));
  }
  // Watched commands here too: ioredis arms commandTimeout for every command of a pipeline otherwise.
  const pipeline = client.pipeline() as unknown as Pipeline;
  for (const c of group) pipeline.sendCommand(new WatchedCommand(watchdog, c.command, [...c.args], buffers));
  return pipeline.exec();
}

/** A batch reply in ioredis' pipeline shape. */
function replyOk(value: unknown): [null, unknown] {
  return [null, value];
}

function replyError(error: Error): [Error, undefined] {
  return [error, undefined];
}
