/** Parses the text of `INFO` or `CLUSTER INFO` into a flat record. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeLine {
  readonly id: string;
  readonly address: string;
  readonly flags: readonly string[];
  readonly masterId: string | undefined;
  readonly linkState: string;
  /** Slot ranges `[from, to]` served by this node (importing/migrating markers excluded). */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/** Parses `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , linkState = '', ...slotParts] = line
        .trim()
        .split(' ');
      const slots: Array<readonly [number, number]> = [];
      for (const part of slotParts) {
        if (part.startsWith('[')) continue;
        const [from, to] = part.split('-').map(Number);
        if (from !== undefined && Number.isInteger(from)) slots.push([from, to ?? from]);
      }
      return {
        id,
        address,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        linkState,
        slots,
      };
    });
}

/** Number of slots in a list of ranges. */
export function countSlots(ranges: ReadonlyArray<readonly [number, number]>): number {
  return ranges.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
}

/** Formats ranges as `0-5460,10923` for people. */
export function formatSlots(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(',');
}
