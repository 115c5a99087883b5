/**
 * A ClickHouse URL as it may be shown (logs, banners, errors, /v1/status): without the user
 * and password a URL such as `http://writer:secret@ch:8123` carries, which would otherwise
 * land in a terminal's scrollback, a service's journal or a support ticket.
 */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}
