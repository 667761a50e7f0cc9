export { jsonReport, renderHtmlReport } from './html.ts';
export { percentile, timeline } from './timeline.ts';
