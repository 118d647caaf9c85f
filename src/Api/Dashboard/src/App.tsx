import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Me, storedKey, storeKey } from './api';
import { SignIn } from './pages/SignIn';

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);

  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    api.get<Me>('/v1/me').then(setMe).catch((error) => {
      if (error instanceof ApiError && error.problem.status === 401) storeKey(null);
    }).finally(() => setChecking(false));
  }, []);

  if (checking) return <main class="page"><div class="skeleton card" aria-busy="true" /></main>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const isAdmin = me.roles.includes('admin');
  return (
    <div class="shell">
      <header class="topbar">
        <strong class="brand">Ops</strong>
        <span class="who" data-testid="who">{me.tenant_id} · {me.key_name} · {isAdmin ? 'admin' : 'read-only'}</span>
        <button type="button" class="link" onClick={() => { storeKey(null); setMe(null); }}>Sign out</button>
      </header>
      <main class="page" id="main">
        <h1>Overview</h1>
      </main>
    </div>
  );
}
