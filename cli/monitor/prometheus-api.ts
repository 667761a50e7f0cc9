/** A few calls of the Prometheus HTTP API (`/api/v1`), enough to check targets, queries and alerts. */

/** One series of an instant query result. */
export interface InstantSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

/** A scrape target as `/api/v1/targets` reports it. */
export interface ScrapeTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
  readonly lastScrape: string;
}

/** An alert as `/api/v1/alerts` reports it. */
export interface ActiveAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
  readonly value: string;
}

/** Raised when Prometheus answers with an error (a PromQL syntax error, an unknown function). */
export class PrometheusApiError extends Error {
  readonly code = 'E_PROMETHEUS_API';
  constructor(
    readonly path: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`Prometheus ${path}: ${errorType}: ${message}`);
    this.name = 'PrometheusApiError';
  }
}

/** A client of one Prometheus server's HTTP API. */
export class PrometheusApi {
  /** @param baseUrl e.g. `http://127.0.0.1:9090` */
  constructor(readonly baseUrl: string) {}

  async #get<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const url = new URL(path, this.baseUrl);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status !== 'success') throw new PrometheusApiError(path, body.errorType ?? 'error', body.error ?? '');
    return body.data;
  }

  /** True once the server answers `/-/ready` with 200. */
  async ready(): Promise<boolean> {
    try {
      const response = await fetch(new URL('/-/ready', this.baseUrl), { signal: AbortSignal.timeout(2000) });
      return response.ok;
    } catch {
      return false;
    }
  }

  /** An instant query; throws {@link PrometheusApiError} on a bad expression. */
  async query(expr: string): Promise<InstantSample[]> {
    const data = await this.#get<{ resultType: string; result: InstantSample[] | [number, string] }>('/api/v1/query', {
      query: expr,
    });
    // A scalar result (`time()`) is one value without labels.
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    return data.result as InstantSample[];
  }

  /** The active scrape targets. */
  async targets(): Promise<ScrapeTarget[]> {
    return (await this.#get<{ activeTargets: ScrapeTarget[] }>('/api/v1/targets', { state: 'active' })).activeTargets;
  }

  /** Pending and firing alerts. */
  async alerts(): Promise<ActiveAlert[]> {
    return (await this.#get<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts;
  }

  /** Names of the loaded alerting rules. */
  async ruleNames(): Promise<string[]> {
    const data = await this.#get<{ groups: Array<{ rules: Array<{ name: string; type: string }> }> }>('/api/v1/rules');
    return data.groups.flatMap((g) => g.rules.filter((r) => r.type === 'alerting').map((r) => r.name));
  }
}
