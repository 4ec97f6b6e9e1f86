// Web origins (`scheme://host[:port]`) as browsers send them in the `Origin` header, in one canonical
// form, so an origin bound at mint (or listed in the module options) compares equal to the header
// of an upgrade from that page whatever the case or default port written.

/**
 * The canonical form of an http(s) origin (`https://app.example.com`, lower case, no default port,
 * no trailing slash), or undefined when the value is not exactly an origin (a path, a query, user
 * info, another scheme, `null`).
 */
export function canonicalOrigin(value: string): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  const trimmed = value.trim().replace(/\/$/, '');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return undefined;
  return url.origin;
}
