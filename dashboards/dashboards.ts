import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { clientView } from './client-view.ts';
import { clusterOverview } from './cluster-overview.ts';
import { buildDashboard, type DashboardSpec } from './panels.ts';

/** Every dashboard slotforge ships, by short name (used in file and ConfigMap names). */
export const DASHBOARD_SPECS: Readonly<Record<'cluster' | 'client', DashboardSpec>> = {
  cluster: clusterOverview,
  client: clientView,
};

/** A built dashboard: its short name, the file name under dashboards/generated/, and the Grafana JSON model. */
export interface BuiltDashboard {
  readonly name: keyof typeof DASHBOARD_SPECS;
  readonly fileName: string;
  readonly model: Dashboard;
}

/** Builds every dashboard. */
export function buildDashboards(): BuiltDashboard[] {
  return Object.entries(DASHBOARD_SPECS).map(([name, spec]) => ({
    name: name as keyof typeof DASHBOARD_SPECS,
    fileName: `${spec.uid}.json`,
    model: buildDashboard(spec),
  }));
}

/** The JSON text of a dashboard exactly as committed under dashboards/generated/ and put in the ConfigMaps. */
export function dashboardJson(model: Dashboard): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}

/** Every PromQL expression of a dashboard model, with the panel it belongs to. */
export function dashboardQueries(model: Dashboard): Array<{ panel: string; refId: string; expr: string }> {
  const out: Array<{ panel: string; refId: string; expr: string }> = [];
  const visit = (panels: unknown[] | undefined) => {
    for (const p of panels ?? []) {
      const panel = p as { title?: string; targets?: Array<{ expr?: string; refId?: string }>; panels?: unknown[] };
      for (const t of panel.targets ?? []) {
        if (t.expr) out.push({ panel: panel.title ?? '', refId: t.refId ?? '', expr: t.expr });
      }
      visit(panel.panels);
    }
  };
  visit(model.panels as unknown[] | undefined);
  for (const v of model.templating?.list ?? []) {
    const query = (v as { query?: unknown }).query;
    if (typeof query === 'string' && query.startsWith('label_values(')) {
      // label_values(metric, label) is Grafana's, not PromQL: its metric must exist all the same.
      out.push({
        panel: `variable ${v.name}`,
        refId: '',
        expr: query.slice('label_values('.length).split(',')[0] ?? '',
      });
    }
  }
  return out;
}
