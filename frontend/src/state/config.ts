/** What the shell page tells the client about where it runs. */
export interface AppConfig {
  /** The tenant's display name; empty when the page has none. */
  readonly tenantName: string;
  /** The tenant's slug (its subdomain); empty when the page has none. */
  readonly tenantSlug: string;
  /** Websocket path on the page's own host, e.g. "/ws/". */
  readonly wsPath: string;
  /**
   * `data-test-hooks="true"`: install `window.__pipoTest` (end-to-end tests
   * only; the server sets it only when its test settings say so).
   */
  readonly testHooks: boolean;
  /**
   * `data-authenticated="true|false"` when the shell page says whether the
   * request had a session; null when it does not say. With `false` the client
   * skips `GET /api/auth/me` (whose 401 the browser would log as an error).
   * Only a hint: the server decides on every request.
   */
  readonly authenticated?: boolean | null;
}

/** The product name, shown where a tenant has no name of its own. */
export const PRODUCT_NAME = "PiPo";

/** The name to show in the header: the tenant's, else the product's. */
export function displayName(config: AppConfig): string {
  const name = config.tenantName.trim();
  return name === "" ? PRODUCT_NAME : name;
}
