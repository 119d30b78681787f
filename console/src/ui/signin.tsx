// Sign-in through /api/v1/auth/login. The token stays in memory (client.ts): a reload asks
// again, and no other page of the origin can find it afterwards.

import { useState } from 'react';
import { post, setToken } from '../api/client';
import { ErrorBanner, FieldError } from './common';

export function SignIn({ onSignedIn }: { onSignedIn: (user: string) => void }) {
  const [user, setUser] = useState('admin');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Quantix vDC</h1>
      <form
        aria-label="Sign in"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            const a = await post<{ token: string }>('/api/v1/auth/login', { user, password });
            setToken(a.body.token);
            onSignedIn(user);
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="signin-user">User</label>
        <input id="signin-user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} />
        <FieldError error={error} field="user" id="signin-user-error" />
        <label htmlFor="signin-password">Password</label>
        <input id="signin-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <FieldError error={error} field="password" id="signin-password-error" />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorBanner error={error} />
      </form>
    </main>
  );
}
