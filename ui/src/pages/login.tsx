/** Log in: the conductor's user and password, or a node's bearer token. A refusal shows why and nothing else. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, login, logoutReason, type Backend } from '../api.js';

export function LoginPage({ backend, banner }: { backend: Backend; banner: ComponentChildren }) {
  const [user, setUser] = useState('admin');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const why = logoutReason();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(backend, user, secret);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? (backend === 'conductor' ? 'Wrong user or password.' : 'This token is not valid here.') : err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      {banner}
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">svrouter {backend === 'conductor' ? 'conductor' : 'node'}</h1>
        {why !== null && error === null && <p class="notice" role="status">{why}</p>}
        {backend === 'conductor' ? (
          <>
            <label>User <input name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required /></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required autoFocus /></label>
          </>
        ) : (
          <label>API token (management.tokens) <input name="token" type="password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required autoFocus /></label>
        )}
        {error !== null && <p class="error" role="alert" data-testid="login-error">{error}</p>}
        <button type="submit" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}
