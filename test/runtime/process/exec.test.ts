import { describe, expect, it } from 'vitest';
import { run } from '../../../runtime/process/index.ts';

describe('run (the local runtime commands)', () => {
  it('reports a command that exits without reading its input by its exit code, not an EPIPE crash', async () => {
    // 4 MiB is more than a pipe holds: the write outlives the command, as `nft -f -` input to a namespace that went away.
    const result = await run('sh', ['-c', 'exit 3'], { input: 'x'.repeat(4 * 1024 * 1024) });
    expect(result).toMatchObject({ code: 3, timedOut: false });
  });
});
