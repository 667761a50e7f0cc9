import { maxOf } from '../checkers/recovery.ts';
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
export function timelineSvg(result: Pick<ScenarioResult, 'history' | 'scenario'>): string {
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
  const markers = result.history.events
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
${bars}<path class="ok" d="${okPath}"/><path class="latency" d="${latencyPath}"/>${markers}${ticks}
</svg>`;
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:32px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}svg{width:100%;max-width:900px;background:#fafafa}
.ok{fill:none;stroke:#1a7f37;stroke-width:2}.latency{fill:none;stroke:#0969da;stroke-width:1.5;stroke-dasharray:4 3}
.err{fill:#cf222e;opacity:.6}.event{stroke:#6e7781;stroke-dasharray:2 2}.event-label,.tick{font-size:11px;fill:#57606a}
.axis{stroke:#57606a}.legend span{margin-right:16px}`;

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

/** The JSON report: per scenario the figures and verdicts, without the raw history. */
export function jsonReport(results: readonly ScenarioResult[]) {
  return results.map(({ history: _history, ...rest }) => rest);
}
