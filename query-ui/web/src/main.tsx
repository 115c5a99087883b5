import type { ReactNode } from 'react';
import { useCallback, useEffect, useState } from 'react';
import type { Me } from './api';
import { LOGIN_NEEDED, getJson, postJson } from './api';
import { createRoot } from 'react-dom/client';
import { navigate, useLocation } from './url';
import { SearchPage } from './SearchPage';
import { TracePage } from './TracePage';
import { TailPage } from './TailPage';
import { SqlPage } from './SqlPage';
import { LevelsPage } from './LevelsPage';
import { StatusPage } from './StatusPage';
import { MetricsPage } from './MetricsPage';
import { PatternsPage } from './PatternsPage';
import './styles.css';
import { withBase } from './base';

/** Who is logged in: undefined while asking, null when a login is needed. */
function useMe(): [Me | null | undefined, (me: Me | null) => void] {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    getJson<Me>('/api/me').then(setMe, () => setMe(null));
    const needed = () => setMe(null);
    window.addEventListener(LOGIN_NEEDED, needed);
    return () => window.removeEventListener(LOGIN_NEEDED, needed);
  }, []);
  return [me, setMe];
}

function Login({ onLogin }: { onLogin: (me: Me) => void }): ReactNode {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const submit = useCallback(async () => {
    setError(undefined);
    try {
      onLogin(await postJson<Me>('/api/login', { token }));
    } catch (err) {
      setError((err as Error).message);
    }
  }, [token, onLogin]);
  return (
    <form
      className="login"
      data-testid="login"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2>Log in to Distlog</h2>
      <label>
        User token
        <input
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
      </label>
      <button type="submit">Log in</button>
      {error && <div className="error">{error}</div>}
    </form>
  );
}

function App(): ReactNode {
  const { path, params } = useLocation();
  const [me, setMe] = useMe();
  if (me === undefined) return null;
  if (me === null)
    return (
      <main>
        <Login onLogin={setMe} />
      </main>
    );
  const trace = /^\/trace\/([0-9a-fA-F]{32})$/.exec(path);
  const link = (to: string, label: string, active: boolean) => (
    <a
      href={withBase(to)}
      className={active ? 'active' : ''}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <>
      <header>
        <b className="logo">distlog</b>
        <nav>
          {link('/', 'Search', path === '/')}
          {link('/patterns', 'Patterns', path === '/patterns')}
          {link('/tail', 'Live tail', path === '/tail')}
          {link('/metrics', 'Metrics', path === '/metrics')}
          {link('/levels', 'Levels', path === '/levels')}
          {!me.tenants && link('/status', 'Status', path === '/status')}
          {me.role === 'admin' && !me.tenants && link('/sql', 'SQL', path === '/sql')}
        </nav>
        {me.authRequired && (
          <span className="user" data-testid="user">
            {me.name} ({me.role}
            {me.tenants ? `, tenants ${me.tenants.join(', ')}` : ''}){' '}
            <button onClick={() => void postJson('/api/logout', {}).then(() => setMe(null))}>Log out</button>
          </span>
        )}
      </header>
      <main>
        {trace ? (
          <TracePage traceId={trace[1].toLowerCase()} />
        ) : path === '/tail' ? (
          <TailPage params={params} />
        ) : path === '/sql' ? (
          <SqlPage />
        ) : path === '/patterns' ? (
          <PatternsPage params={params} />
        ) : path === '/metrics' ? (
          <MetricsPage params={params} />
        ) : path === '/levels' ? (
          <LevelsPage />
        ) : path === '/status' ? (
          <StatusPage />
        ) : (
          <SearchPage params={params} />
        )}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
