import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type Me, prefetch, storedKey, storeKey } from './api';
import { LiveIndicator, useLive } from './live';
import type { ComponentType } from 'preact';
import { ErrorNote } from './components/Widget';
import { Overview } from './pages/Overview';
import { SignIn } from './pages/SignIn';
import { href, useRoute } from './router';

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);

  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    // The Overview's data is fetched while the key is checked: one round trip less before the cards show.
    if ((location.hash.replace(/^#/, '').split('?')[0] || '/') === '/') prefetch('/v1/dashboard/stats');
    api.get<Me>('/v1/me').then(setMe).catch((error) => {
      if (error instanceof ApiError && error.problem.status === 401) storeKey(null);
    }).finally(() => setChecking(false));
  }, []);

  if (checking) return <main class="page"><div class="skeleton card" aria-busy="true" /></main>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  return <Shell me={me} onSignOut={() => { storeKey(null); setMe(null); }} />;
}

/**
 * Loads a page's code on first visit: the Overview (the page opened every morning) does not wait for Chart.js,
 * which only the Usage page draws with.
 */
function lazyPage<P>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function LazyPage(props: P) {
    const [component, setComponent] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<Error | null>(null);
    useEffect(() => {
      if (!component) load().then((c) => { loaded = c; setComponent(() => c); }, setError);
    }, []);
    if (error) return <ErrorNote error={error} />;
    if (!component) return <div class="skeleton card" aria-busy="true" />;
    const Page = component;
    return <Page {...(props as P & object)} />;
  };
}

const Usage = lazyPage(() => import('./pages/Usage').then((m) => m.Usage));
const Operations = lazyPage(() => import('./pages/Operations').then((m) => m.Operations));

const pages = [
  { path: '/', label: 'Overview' },
  { path: '/usage', label: 'Usage' },
  { path: '/operations', label: 'Operations' },
];

/** At most one refresh every 2 s however fast events arrive (each refresh is a few queries). */
function useThrottled(value: number, intervalMs: number): number {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + intervalMs - Date.now());
    const timer = setTimeout(() => { last.current = Date.now(); setShown(value); }, wait);
    return () => clearTimeout(timer);
  }, [value]);
  return shown;
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const route = useRoute();
  const live = useLive();
  const refresh = useThrottled(live.tick, 2000);
  const isAdmin = me.roles.includes('admin');
  const current = pages.find((p) => p.path === route.path) ?? pages[0];

  useEffect(() => { document.title = `${current.label} · Ops`; }, [current]);

  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="topbar">
        <strong class="brand">Ops</strong>
        <nav aria-label="Pages">
          {pages.map((p) => (
            <a key={p.path} href={href(p.path)} aria-current={p === current ? 'page' : undefined}>{p.label}</a>
          ))}
        </nav>
        <LiveIndicator live={live} />
        <span class="who" data-testid="who">{me.tenant_id} · {me.key_name} · {isAdmin ? 'admin' : 'read-only'}</span>
        <button type="button" class="link" onClick={onSignOut}>Sign out</button>
      </header>
      {live.detail && live.status !== 'live' && <p class="banner" role="status">{live.detail}</p>}
      <main class="page" id="main" tabIndex={-1}>
        {current.path === '/' && <Overview live={live} />}
        {current.path === '/usage' && <Usage params={route.params} refresh={refresh} />}
        {current.path === '/operations' && <Operations isAdmin={isAdmin} refresh={refresh} />}
      </main>
    </div>
  );
}
