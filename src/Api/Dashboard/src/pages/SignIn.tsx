import { useState } from 'preact/hooks';
import { api, ApiError, type Me, storeKey } from '../api';

export function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api.get<Me>('/v1/me', undefined, key.trim());
      if (!me.roles.includes('read')) {
        setError('This key can only send events (role ingest). Sign in with a read or admin key.');
        return;
      }
      storeKey(key.trim());
      onSignedIn(me);
    } catch (e) {
      setError(e instanceof ApiError && e.problem.status === 401
        ? 'That API key was not accepted: it is unknown, revoked or expired.'
        : `Could not sign in: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="page signin">
      <h1>Ops</h1>
      <form onSubmit={submit} class="card">
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" required placeholder="ops_…"
               value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <p class="hint">Stored for this browser tab only. Read keys see everything; admin keys also get the operator controls.</p>
        {error && <p role="alert" class="error">{error}</p>}
        <button type="submit" disabled={busy || key.trim() === ''}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
