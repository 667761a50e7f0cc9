import { describe, expect, it } from 'vitest';
import { countSlots, formatSlots, parseClusterNodes, parseInfo } from '../../../runtime/redis/index.ts';

describe('parsers', () => {
  it('parses INFO sections into a flat record', () => {
    expect(parseInfo('# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n')).toEqual({
      role: 'slave',
      master_link_status: 'up',
    });
  });

  it('parses CLUSTER NODES with hostnames, importing markers and several ranges', () => {
    const [line] = parseClusterNodes(
      'abc 10.0.0.1:6379@16379,redis-0.h myself,master - 0 0 1 connected 0-99 200 [300->-def]\n',
    );
    expect(line).toMatchObject({ id: 'abc', flags: ['myself', 'master'], masterId: undefined, linkState: 'connected' });
    expect(line?.slots).toEqual([
      [0, 99],
      [200, 200],
    ]);
    expect(countSlots(line?.slots ?? [])).toBe(101);
    expect(formatSlots(line?.slots ?? [])).toBe('0-99,200');
  });
});
