import { ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { navigate, useLocation } from './url';
import { SearchPage } from './SearchPage';
import { TracePage } from './TracePage';
import { TailPage } from './TailPage';
import { SqlPage } from './SqlPage';
import { LevelsPage } from './LevelsPage';
import './styles.css';

function App(): ReactNode {
  const { path, params } = useLocation();
  const trace = /^\/trace\/([0-9a-fA-F]{32})$/.exec(path);
  const link = (to: string, label: string, active: boolean) => (
    <a
      href={to}
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
          {link('/tail', 'Live tail', path === '/tail')}
          {link('/levels', 'Levels', path === '/levels')}
          {link('/levels', 'Levels', path === '/levels')}
          {link('/sql', 'SQL', path === '/sql')}
        </nav>
      </header>
      <main>
        {trace ? (
          <TracePage traceId={trace[1].toLowerCase()} />
        ) : path === '/tail' ? (
          <TailPage params={params} />
        ) : path === '/sql' ? (
          <SqlPage />
        ) : path === '/levels' ? (
          <LevelsPage />
        ) : (
          <SearchPage params={params} />
        )}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
