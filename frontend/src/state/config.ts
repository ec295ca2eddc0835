/** What the shell page tells the client about where it runs. */
export interface AppConfig {
  /** The tenant's display name; empty when the page has none. */
  readonly tenantName: string;
  /** The tenant's slug (its subdomain); empty when the page has none. */
  readonly tenantSlug: string;
  /** Websocket path on the page's own host, e.g. "/ws/". */
  readonly wsPath: string;
}

/** The product name, shown where a tenant has no name of its own. */
export const PRODUCT_NAME = "PiPo";

/** The name to show in the header: the tenant's, else the product's. */
export function displayName(config: AppConfig): string {
  const name = config.tenantName.trim();
  return name === "" ? PRODUCT_NAME : name;
}
