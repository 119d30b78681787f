// The console's shell: sign-in (or none with `qvdc serve --no-auth`), navigation, the page of
// the address, the live status of the watch and the recent tasks.

import { useEffect, useState } from 'react';
import { get, post, setToken, whenUnauthorized } from './api/client';
import { ApiError } from './api/errors';
import { watch, type WatchStatus } from './live/watch';
import { Dashboard } from './pages/dashboard';
import { HostDetail, HostList } from './pages/hosts';
import { AlertList, ClusterList, Timeline } from './pages/others';
import { VmDetail } from './pages/vm_detail';
import { VmList } from './pages/vms';
import { ClusterDetail } from './pages/cluster_detail';
import { NetworksPage } from './pages/networks';
import { ImagesPage, StoragePage } from './pages/storage';
import { ErrorBanner, Link } from './ui/common';
import { segments, usePath } from './ui/router';
import { SignIn } from './ui/signin';
import { TaskPanel, useOperations } from './ui/tasks';
import { PastBanner, TimeTravelBar } from './ui/time_travel_bar';
import { useAsOf } from './live/time_travel';

type Session = { state: 'probing' } | { state: 'signed-out' } | { state: 'signed-in'; user: string } | { state: 'failed'; error: unknown };

const nav = [
  ['/', 'Dashboard'],
  ['/vms', 'VMs'],
  ['/hosts', 'Hosts'],
  ['/clusters', 'Clusters'],
  ['/storage', 'Storage'],
  ['/images', 'Images'],
  ['/networks', 'Networks'],
  ['/alerts', 'Alerts'],
  ['/events', 'Events'],
] as const;

/** Starts the watch at the log's position now, before any view loads (none misses a change). */
async function startWatch(): Promise<void> {
  const a = await get('/api/v1/vms?limit=1');
  watch.start(a.position);
}

function useWatchStatus(): WatchStatus {
  const [s, setS] = useState<WatchStatus>(watch.status);
  useEffect(() => watch.onStatus(setS), []);
  return s;
}

function Shell({ user, onSignOut }: { user: string; onSignOut: () => void }) {
  const path = usePath();
  const ops = useOperations();
  const status = useWatchStatus();
  const asOf = useAsOf();
  const s = segments(path);
  let page;
  if (s[0] === 'vms' && s[1]) page = <VmDetail key={s[1]} id={s[1]} />;
  else if (s[0] === 'vms') page = <VmList />;
  else if (s[0] === 'hosts' && s[1]) page = <HostDetail key={s[1]} id={s[1]} />;
  else if (s[0] === 'hosts') page = <HostList />;
  else if (s[0] === 'clusters' && s[1]) page = <ClusterDetail key={s[1]} id={s[1]} />;
  else if (s[0] === 'clusters') page = <ClusterList />;
  else if (s[0] === 'alerts') page = <AlertList />;
  else if (s[0] === 'storage') page = <StoragePage />;
  else if (s[0] === 'images') page = <ImagesPage />;
  else if (s[0] === 'networks') page = <NetworksPage />;
  else if (s[0] === 'events') page = <Timeline />;
  else page = <Dashboard ops={ops} />;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Quantix vDC</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([to, label]) => (
              <li key={to} aria-current={(to === '/' ? path === '/' : path.startsWith(to)) ? 'page' : undefined}>
                <Link to={to}>{label}</Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className={`watch watch-${status}`} data-watch={status} role="status">
          {status === 'live' ? 'Live' : status} · position {watch.position}
        </span>
        <span className="user">{user}</span>
        {user !== 'anonymous' ? (
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        ) : null}
      </header>
      <TimeTravelBar />
      <PastBanner />
      <main id="main" tabIndex={-1} className={asOf !== '' ? 'past' : undefined}>
        {/* In the past every control of the page is disabled: a disabled fieldset does that. */}
        <fieldset className="page-frame" disabled={asOf !== ''}>
          <legend className="visually-hidden">{asOf !== '' ? 'The past (read only)' : 'Now'}</legend>
          {page}
        </fieldset>
      </main>
      <TaskPanel ops={ops} />
    </div>
  );
}

export function App() {
  const [session, setSession] = useState<Session>({ state: 'probing' });
  useEffect(() => {
    whenUnauthorized(() => {
      watch.stop();
      setToken('');
      setSession({ state: 'signed-out' });
    });
    // Without a token: 200 means the server runs --no-auth; 401 asks for a sign-in.
    get('/api/v1/vms?limit=1')
      .then(() => setSession({ state: 'signed-in', user: 'anonymous' }))
      .catch((e) => setSession(e instanceof ApiError && e.status === 401 ? { state: 'signed-out' } : { state: 'failed', error: e }));
  }, []);
  useEffect(() => {
    if (session.state === 'signed-in') void startWatch().catch(() => {});
  }, [session.state]);
  if (session.state === 'probing') return <p>Connecting…</p>;
  if (session.state === 'failed')
    return (
      <main>
        <ErrorBanner error={session.error} />
      </main>
    );
  if (session.state === 'signed-out') return <SignIn onSignedIn={(user) => setSession({ state: 'signed-in', user })} />;
  return (
    <Shell
      user={session.user}
      onSignOut={() => {
        void post('/api/v1/auth/logout').catch(() => {});
        watch.stop();
        setToken('');
        setSession({ state: 'signed-out' });
      }}
    />
  );
}
