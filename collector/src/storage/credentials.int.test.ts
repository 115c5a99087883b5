import { ClickHouse, credentialsOf } from './clickhouse';
import { withoutCredentials } from './url';
import { testClickHouseUrl } from '../testing/test-database';

// A user and password given in the ClickHouse URL (CLICKHOUSE_URL=http://USER:PASSWORD@host:8123):
// used, never shown — not in errors, banners or /v1/status — and no warning from the client.

const withUser = (url: string, user: string, password: string) => {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
};

describe('credentials in a ClickHouse URL', () => {
  it('are taken apart from the URL, percent-decoded, and win over the options', () => {
    expect(
      credentialsOf({ url: 'http://writer:s%40cr%3At@ch.example:8123/', username: 'x', password: 'y' }),
    ).toEqual({
      url: 'http://ch.example:8123',
      username: 'writer',
      password: 's@cr:t',
    });
    expect(credentialsOf({ url: 'https://ch.example:8443', username: 'reader', password: 'pw' })).toEqual({
      url: 'https://ch.example:8443',
      username: 'reader',
      password: 'pw',
    });
    expect(credentialsOf({ url: 'http://127.0.0.1:8123' })).toEqual({
      url: 'http://127.0.0.1:8123',
      username: 'default',
      password: '',
    });
    expect(credentialsOf({ url: 'http://:only-a-password@h:1' })).toMatchObject({
      username: 'default',
      password: 'only-a-password',
    });
  });

  it('are left out wherever the URL is shown', () => {
    expect(withoutCredentials('http://writer:topsecret@ch.example:8123')).toBe('http://ch.example:8123');
    expect(withoutCredentials('http://ch.example:8123/')).toBe('http://ch.example:8123/');
    expect(withoutCredentials('not a url://u:p@x')).not.toContain('u:p');
  });

  it('connect a real server with the user in the URL, without a word from the client on stderr', async () => {
    const written: string[] = [];
    const spies = [
      jest.spyOn(console, 'warn').mockImplementation((...a) => void written.push(a.join(' '))),
      jest.spyOn(console, 'log').mockImplementation((...a) => void written.push(a.join(' '))),
      jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (written.push(String(chunk)), true)),
    ];
    try {
      const ch = await ClickHouse.connect({
        url: withUser(testClickHouseUrl(), 'default', ''),
        database: 'default',
      });
      expect((await ch.query<{ n: number }>('SELECT 1 AS n'))[0].n).toBe(1);
      expect(ch.url).not.toContain('default@');
      await ch.close();
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(written.join('')).toBe('');
  });

  // The embedded store takes any user (it has no users); a server checks the password.
  const serverOnly = process.env.DISTLOG_TEST_CLICKHOUSE === 'chdb' ? it.skip : it;
  serverOnly(
    'a wrong password is said as such, naming where credentials come from, not the secret',
    async () => {
      const url = withUser(testClickHouseUrl(), 'default', 'wrong-secret-42');
      const err = await ClickHouse.connect({ url, database: 'default' }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/answers but refuses the user/);
      expect(err?.message).toContain('CLICKHOUSE_URL');
      expect(err?.message).toContain(withoutCredentials(url));
      expect(err?.message).not.toContain('wrong-secret-42');
    },
  );

  it('a database name ClickHouse cannot take is said as a setting, not as an unreachable server', async () => {
    const err = await ClickHouse.connect({ url: testClickHouseUrl(), database: 'my-logs' }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^invalid database name \(--database, DISTLOG_DATABASE or clickhouse.database\) "my-logs"/,
    );
    expect(err?.message).not.toContain('unreachable');
  });
});
