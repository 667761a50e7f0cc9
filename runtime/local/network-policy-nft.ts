import type { AllowRule, PeerMatch, PodFirewall, PortMatch } from './network-policy.ts';

/**
 * The nft table that enforces a {@link PodFirewall} inside the pod's network namespace: the `ingress` chain on the
 * input hook (connections to the pod), the `egress` chain on the output hook (connections it opens). A chain exists
 * only for a direction the pod is isolated in. In order, a chain accepts: loopback (a pod cannot block itself),
 * packets of connections already accepted and their ICMP errors (`ct state established,related`: replies, and
 * connections open before a policy changed, as kube-network-policies judges only a connection's first packet),
 * traffic with the host (the node: kubelet probes, see docs/local-runtime.md), each allow rule; and drops the rest
 * (a silent drop, as kube-network-policies' NFQUEUE verdict: the client times out).
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Matching_connection_tracking_stateful_metainformation
 */
export function renderFirewall(table: string, firewall: PodFirewall, hostIp: string): string | undefined {
  if (!firewall.ingress && !firewall.egress) return undefined;
  const lines = [`table inet ${table} {`];
  const chain = (name: string, hook: string, side: 'saddr' | 'daddr', iface: string, rules: readonly AllowRule[]) => {
    lines.push(
      `  chain ${name} {`,
      `    type filter hook ${hook} priority 0; policy accept;`,
      `    ${iface} "lo" accept`,
      '    ct state established,related accept',
      `    ip ${side} ${hostIp} accept`,
    );
    for (const rule of rules)
      for (const match of ruleMatches(rule, side)) lines.push(`    ${match ? `${match} ` : ''}accept`);
    lines.push('    counter drop', '  }');
  };
  if (firewall.ingress) chain('ingress', 'input', 'saddr', 'iifname', firewall.ingress);
  if (firewall.egress) chain('egress', 'output', 'daddr', 'oifname', firewall.egress);
  lines.push('}', '');
  return lines.join('\n');
}

function peerMatch(peers: PeerMatch, side: 'saddr' | 'daddr'): string {
  if ('any' in peers) return '';
  if ('ips' in peers) return `ip ${side} { ${[...new Set(peers.ips)].sort().join(', ')} } `;
  const family = peers.cidr.includes(':') ? 'ip6' : 'ip';
  const except = peers.except.length > 0 ? `${family} ${side} != { ${peers.except.join(', ')} } ` : '';
  return `${family} ${side} ${peers.cidr} ${except}`;
}

/** One nft match per protocol: `<peer> meta l4proto tcp th dport { 6379, 8000-8010 }`. */
function ruleMatches(rule: AllowRule, side: 'saddr' | 'daddr'): string[] {
  const peer = peerMatch(rule.peers, side);
  if (rule.ports === 'any') return [peer.trim()];
  const byProtocol = new Map<string, PortMatch[]>();
  for (const port of rule.ports) byProtocol.set(port.protocol, [...(byProtocol.get(port.protocol) ?? []), port]);
  return [...byProtocol].map(([protocol, ports]) => {
    const l4 = `${peer}meta l4proto ${protocol.toLowerCase()}`;
    // A port entry without a number admits every port of its protocol.
    if (ports.some((p) => p.from === undefined)) return l4;
    const ranges = [...new Set(ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)))];
    return `${l4} th dport { ${ranges.join(', ')} }`;
  });
}
