import { maxOf } from '../checkers/index.ts';
import { type FailoverTimeline, timelineRows } from '../observe/index.ts';
import type { ScenarioResult } from '../runner.ts';
import { type TimelineBucket, timeline } from './timeline.ts';

const W = 900;
const H = 260;
const PAD = { left: 64, right: 80, top: 28, bottom: 32 };

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function scale(domainMax: number, rangeLow: number, rangeHigh: number) {
  const max = domainMax > 0 ? domainMax : 1;
  return (v: number) => rangeLow + (v / max) * (rangeHigh - rangeLow);
}

/** An SVG chart: throughput (green line), errors (red bars), p99 latency (blue dashes, right axis), event markers. */
export function timelineSvg(result: Pick<ScenarioResult, 'history' | 'scenario' | 'failover'>): string {
  const buckets: TimelineBucket[] = timeline(result.history);
  if (buckets.length === 0) return '<p>no operations recorded</p>';
  const end = (buckets.at(-1)?.at ?? 0) + 250;
  const x = scale(end, PAD.left, W - PAD.right);
  const maxRate = maxOf(buckets.map((b) => Math.max(b.okPerSecond, b.errorsPerSecond)));
  const y = scale(maxRate, H - PAD.bottom, PAD.top);
  const maxLatency = Math.max(1, ...buckets.map((b) => b.p99Ms ?? 0));
  const yl = scale(maxLatency, H - PAD.bottom, PAD.top);
  const line = (points: Array<[number, number]>) =>
    points.map(([a, b], i) => `${i ? 'L' : 'M'}${a.toFixed(1)},${b.toFixed(1)}`).join('');
  const okPath = line(buckets.map((b) => [x(b.at + 125), y(b.okPerSecond)]));
  const latencyPath = line(buckets.filter((b) => b.p99Ms !== null).map((b) => [x(b.at + 125), yl(b.p99Ms ?? 0)]));
  const bars = buckets
    .filter((b) => b.errorsPerSecond > 0)
    .map((b) => {
      const top = y(b.errorsPerSecond);
      return `<rect class="err" x="${x(b.at).toFixed(1)}" y="${top.toFixed(1)}" width="${(x(250) - x(0)).toFixed(1)}" height="${(H - PAD.bottom - top).toFixed(1)}"/>`;
    })
    .join('');
  // The run's own markers (fault, heal, healthy); the node observer's and the client's events are summed up as the
  // failover phases below instead (dozens of them would hide the chart).
  const faultAt = result.history.events.find((e) => e.name === 'fault:inject')?.at ?? 0;
  const phases = (result.failover?.phases ?? []).flatMap((p) =>
    p.atMs === null || p.phase === 'fault injected' || p.phase === 'fault ended'
      ? []
      : [{ at: faultAt + p.atMs, name: p.phase }],
  );
  const phaseMarkers = phases
    .map(
      (p, i) =>
        `<line class="phase" x1="${x(p.at).toFixed(1)}" x2="${x(p.at).toFixed(1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>` +
        `<text class="phase-label" x="${(x(p.at) + 3).toFixed(1)}" y="${PAD.top + 12 + (i % 4) * 12}">${escapeHtml(p.name)}</text>`,
    )
    .join('');
  const markers = result.history.events
    .filter((e) => !e.name.startsWith('node:') && !e.name.startsWith('client:'))
    .map(
      (e, i) =>
        `<line class="event" x1="${x(e.at).toFixed(1)}" x2="${x(e.at).toFixed(1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>` +
        `<text class="event-label" x="${(x(e.at) + 3).toFixed(1)}" y="${PAD.top - 16 + (i % 2) * 12}">${escapeHtml(e.name)}</text>`,
    )
    .join('');
  const ticks = Array.from({ length: Math.floor(end / 1000) + 1 }, (_, s) => s)
    .filter((s) => s % Math.max(1, Math.ceil(end / 1000 / 15)) === 0)
    .map((s) => `<text class="tick" x="${x(s * 1000).toFixed(1)}" y="${H - PAD.bottom + 16}">${s}s</text>`)
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="timeline of ${escapeHtml(result.scenario)}">
<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>
<text class="tick" x="4" y="${PAD.top + 4}">${Math.round(maxRate)} ops/s</text>
<text class="tick" x="${W - PAD.right + 4}" y="${PAD.top + 4}">${Math.round(maxLatency)} ms p99</text>
${bars}<path class="ok" d="${okPath}"/><path class="latency" d="${latencyPath}"/>${markers}${phaseMarkers}${ticks}
</svg>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:32px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}svg{width:100%;max-width:900px;background:#fafafa}
.ok{fill:none;stroke:#1a7f37;stroke-width:2}.latency{fill:none;stroke:#0969da;stroke-width:1.5;stroke-dasharray:4 3}
.err{fill:#cf222e;opacity:.6}.event{stroke:#6e7781;stroke-dasharray:2 2}.event-label,.tick{font-size:11px;fill:#57606a}
.axis{stroke:#57606a}.phase{stroke:#bc4c00;stroke-dasharray:1 3}.phase-label{font-size:10px;fill:#bc4c00}.legend span{margin-right:16px}`;

/** A self-contained HTML report: per scenario, the figures, the verdicts and the timeline around the fault. */
export function renderHtmlReport(results: readonly ScenarioResult[], title = 'slotforge chaos report'): string {
  const sections = results
    .map(
      (
        r,
      ) => `<h2>${escapeHtml(r.scenario)} <span class="${r.ok ? 'pass' : 'fail'}">${r.ok ? 'PASS' : 'FAIL'}</span></h2>
<p>${escapeHtml(r.fault.description)} · target ${escapeHtml(r.target)} · node timeout ${r.nodeTimeoutMs} ms</p>
<table><tr><th>lost acknowledged writes</th><th>Redis-inherent loss</th><th>recovery</th><th>steady throughput after</th><th>failed operations</th></tr>
<tr><td>${r.lostAcknowledgedWrites}</td><td>${r.inherentLoss}</td><td>${r.recoveryMs === null ? 'never' : `${Math.round(r.recoveryMs)} ms`}</td><td>${r.steadyMs === null ? '–' : `${Math.round(r.steadyMs)} ms`}</td><td>${r.failedOperations} of ${r.operations}</td></tr></table>
<p class="legend"><span style="color:#1a7f37">━ ok ops/s</span><span style="color:#cf222e">▮ errors/s</span><span style="color:#0969da">┅ p99 latency</span><span>┆ events</span></p>
${timelineSvg(r)}
${r.failover ? failoverTable(r.failover, r.nodeTimeoutMs) : ''}
<table><tr><th>checker</th><th>verdict</th><th>summary</th></tr>${r.verdicts
        .map(
          (v) =>
            `<tr><td>${escapeHtml(v.checker)}</td><td class="${v.ok ? 'pass' : 'fail'}">${v.ok ? 'ok' : 'FAIL'}</td><td>${escapeHtml(v.summary)}</td></tr>`,
        )
        .join('')}</table>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${results.filter((r) => r.ok).length} of ${results.length} scenarios passed.</p>${sections}</body></html>
`;
}

/** The failover phases of a run as a table: ms after the fault, the step from the phase before, what showed it. */
function failoverTable(timeline: FailoverTimeline, nodeTimeoutMs: number): string {
  const rows = timelineRows(timeline)
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.phase)}</td><td>${p.atMs === null ? 'not seen' : `${Math.round(p.atMs)} ms`}</td><td>${p.stepMs === null ? '' : `+${Math.round(p.stepMs)} ms`}</td><td>${escapeHtml(p.detail ?? '')}</td></tr>`,
    )
    .join('');
  const beyond = timeline.beyondNodeTimeoutMs;
  return `<p>Failover of ${escapeHtml(timeline.pod)}: ${timeline.failedOver ? 'a replica was promoted' : '<b>no failover</b> (no replica was promoted: the pod came back first)'}; first acknowledged write on its slots ${beyond === null ? 'not seen' : `${Math.round(beyond)} ms beyond the node timeout (${nodeTimeoutMs} ms)`}.</p>
<table><tr><th>phase</th><th>after the fault</th><th>step</th><th>seen as</th></tr>${rows}</table>`;
}

/** The JSON report: per scenario the figures, verdicts and history markers, without the operations. */
export function jsonReport(results: readonly ScenarioResult[]) {
  // The markers stay (fault, heal, the node observer's and the client's events: a few hundred at most): they are
  // what the failover phases were read from.
  return results.map(({ history, ...rest }) => ({ ...rest, events: history.events }));
}
