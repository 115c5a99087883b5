import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Authenticator } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import { stringLiteral } from '@distlog/collector/storage';

/**
 * Web UI sessions that live in no process: a session is a signed cookie,
 * `<payload>.<signature>` (base64url; HMAC-SHA-256), whose payload names the session,
 * its user, when it ends, and a keyed hash of the user's token. Any query server with the
 * same keys accepts it — behind a load balancer, after a restart.
 *
 * Keys: `auth.sessionKeys` (the first signs, all are accepted: rotate by putting a new
 * key first, drop the old one once its sessions have expired), else one derived from the
 * configured users' tokens, so query servers sharing a configuration agree with no
 * setting at all (changing a token then ends every session).
 *
 * A session ends when it expires, when its user's token is no longer configured (the
 * token hash no longer matches), or at logout: the session id goes to the
 * `revoked_sessions` table in ClickHouse, which every query server reads every
 * REFRESH_MS (a logout takes effect on the server it was made on at once, elsewhere
 * within that time).
 */
export const SESSION_MS = 12 * 3600_000;
const REFRESH_MS = 1_000;

export interface SessionUser {
  name: string;
  token: string;
  sessionId: string;
  expiresAt: number;
}

interface Payload {
  /** session id */
  s: string;
  /** user name */
  u: string;
  /** keyed hash of the user's token */
  t: string;
  /** expiry, ms since the epoch */
  e: number;
}

export class Sessions {
  private readonly keys: Buffer[];
  private readonly revoked = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readProblem: string | undefined;

  constructor(
    private readonly auth: Authenticator,
    private readonly ch: ClickHouse | undefined,
    private readonly ttlMs = SESSION_MS,
  ) {
    this.keys =
      auth.sessionKeys.length > 0
        ? auth.sessionKeys.map((k) => Buffer.from(k, 'utf8'))
        : [derivedKey(auth.userTokens())];
  }

  /** Starts reading logouts made on other query servers. */
  start(): void {
    if (!this.ch || this.timer || !this.auth.usersRequired) return;
    const tick = () => {
      void this.readRevoked().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, REFRESH_MS).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A new session's cookie value for a user who presented `token`. */
  issue(userName: string, token: string, now = Date.now()): string {
    const payload: Payload = {
      s: randomBytes(16).toString('base64url'),
      u: userName,
      t: tokenHash(this.keys[0], token),
      e: now + this.ttlMs,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${sign(this.keys[0], body)}`;
  }

  /** The session's user, or undefined (not signed by a known key, expired, revoked, token changed). */
  verify(value: string, now = Date.now()): SessionUser | undefined {
    const dot = value.indexOf('.');
    if (dot <= 0 || value.length > 2000) return undefined;
    const body = value.slice(0, dot);
    const signature = Buffer.from(value.slice(dot + 1), 'base64url');
    const key = this.keys.find((k) => {
      const expected = Buffer.from(sign(k, body), 'base64url');
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    });
    if (!key) return undefined;
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      return undefined;
    }
    if (typeof payload.e !== 'number' || payload.e < now) return undefined;
    if (this.revoked.has(payload.s)) return undefined;
    const token = this.auth.userTokens().get(payload.u);
    if (token === undefined || tokenHash(key, token) !== payload.t) return undefined;
    return { name: payload.u, token, sessionId: payload.s, expiresAt: payload.e };
  }

  /** Logout: this server forgets the session at once, the others at their next read. */
  async revoke(value: string): Promise<void> {
    const session = this.verify(value);
    if (!session) return;
    this.revoked.set(session.sessionId, session.expiresAt);
    if (!this.ch) return;
    try {
      await this.ch.command(
        `INSERT INTO ${this.ch.database}.revoked_sessions (SessionId, Until) VALUES ` +
          `(${stringLiteral(session.sessionId)}, toDateTime(${Math.ceil(session.expiresAt / 1000)}))`,
      );
    } catch (err) {
      say(
        `could not record a logout in ClickHouse; other query servers accept that session until it expires: ${firstLine(err)}`,
      );
    }
  }

  private async readRevoked(): Promise<void> {
    const ch = this.ch!;
    try {
      const rows = await ch.query<{ id: string; until: string }>(
        `SELECT SessionId AS id, toUInt32(max(Until)) AS until FROM ${ch.database}.revoked_sessions ` +
          `WHERE Until >= now() GROUP BY SessionId`,
      );
      const now = Date.now();
      for (const [id, until] of this.revoked) if (until < now) this.revoked.delete(id);
      for (const r of rows) this.revoked.set(r.id, Number(r.until) * 1000);
      if (this.readProblem) say('reading logouts from ClickHouse again');
      this.readProblem = undefined;
    } catch (err) {
      // Said once, not every second.
      if (this.readProblem === undefined)
        say(
          `cannot read logouts from ClickHouse (${ch.database}.revoked_sessions); ` +
            `logouts made on other query servers are not seen until this works: ${firstLine(err)}`,
        );
      this.readProblem = firstLine(err);
    }
  }
}

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

function tokenHash(key: Buffer, token: string): string {
  return createHmac('sha256', key).update('token\u0000').update(token).digest('base64url').slice(0, 22);
}

/** A key from the users' names and tokens: the same wherever the same users are configured. */
function derivedKey(tokens: ReadonlyMap<string, string>): Buffer {
  const hash = createHash('sha256').update('distlog session key v1');
  for (const [name, token] of [...tokens].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    hash.update('\u0000').update(name).update('\u0000').update(token);
  return hash.digest();
}

function say(line: string): void {
  process.stderr.write(`distlog query server: ${line}\n`);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
