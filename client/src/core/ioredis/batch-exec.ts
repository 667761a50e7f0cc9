/**
 * One node's group of a batch, sent as watched commands.
 * @internal Used by the ioredis folder only.
 */
import type { Pipeline } from 'ioredis';
import type { AttemptWatchdog } from '../attempt-watchdog.ts';
import type { BatchCommand } from '../commands.ts';
import type { WriteCoalescer } from '../write-coalescer.ts';
import type { Client } from './create.ts';
import { WatchedCommand } from './watched-command.ts';

/** Sends `group` through `client` and resolves with the replies in ioredis' pipeline shape (`[error, value]`). */
export function execGroup(
  client: Client,
  coalescer: WriteCoalescer | null,
  watchdog: AttemptWatchdog,
  group: readonly BatchCommand[],
  buffers: boolean,
): Promise<[Error | null, unknown][] | null> {
  if (coalescer) {
    // The group's commands leave in one write per node (corked until the end of this tick), as a pipeline
    // would, without ioredis' Pipeline (its promise bookkeeping and a slot check per command) and with the
    // attempt deadline kept by the watchdog (WatchedCommand) instead of a timer per command (issue 16 bench).
    coalescer.hold(true);
    return Promise.all(
      group.map((c) =>
        (client.sendCommand(new WatchedCommand(watchdog, c.command, [...c.args], buffers)) as Promise<unknown>).then(
          replyOk,
          replyError,
        ),
      ),
    );
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
