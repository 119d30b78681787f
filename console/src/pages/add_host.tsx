// Add a host by its agent's URL and registration token (what the product's plans call
// AddHostModal): POST /api/v1/nodes/discover with register; a refusal shows the seeds' code
// with what to do about it.

import { useState } from 'react';
import { post } from '../api/client';
import { ApiError } from '../api/errors';
import { ErrorBanner, FieldError } from '../ui/common';

const guidance: Record<string, string> = {
  TOKEN_MISSING: 'The host asks for a registration token: copy the current one from its host page (qx-node) and paste it here.',
  TOKEN_INVALID: 'The host did not accept the token: it is unknown or was used already. Make a new one on the host.',
  TOKEN_EXPIRED: 'The token has expired: make a new one on the host and try again.',
  HOST_FIRMWARE_OUTDATED: 'Something answered at that address, but not a qx-node host API: check the port, and that qx-node is up to date.',
  HOST_API_NOT_AVAILABLE: "The host API answered with a server error: look at the qx-node log on the host.",
  HOST_CONNECTION_FAILED: 'Nothing accepted the connection: is qx-node running, and listening on that address and port?',
  NETWORK_UNREACHABLE: 'The control plane has no route to that address: check the network between them.',
  TLS_ERROR: "TLS failed: the URL's scheme (http or https) or the host's certificate.",
  INVALID_RESPONSE: 'The host answered something the control plane could not read: are both the same version?',
  CONNECTION_TIMEOUT: 'The host did not answer in time: is it up, and is a firewall dropping the connection?',
};

/** What to do about a registration refusal, by its code ("" for codes without advice). */
export function guidanceFor(code: string): string {
  return guidance[code] ?? '';
}

export function AddHostDialog({ onClose }: { onClose: () => void }) {
  const [hostUrl, setHostUrl] = useState('');
  const [token, setToken] = useState('');
  const [nodeId, setNodeId] = useState('');
  const [clusterId, setClusterId] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const code = error instanceof ApiError ? error.code : '';
  return (
    <div className="wizard" role="dialog" aria-labelledby="add-host-title">
      <h2 id="add-host-title">Add a host</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          const body: Record<string, unknown> = { hostUrl, register: true };
          if (token) body.token = token;
          if (nodeId) body.nodeId = nodeId;
          if (clusterId) body.clusterId = clusterId;
          try {
            await post('/api/v1/nodes/discover', body);
            onClose();
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <fieldset>
          <legend>The host's agent</legend>
          <label htmlFor="host-url">Host URL</label>
          <input id="host-url" value={hostUrl} onChange={(e) => setHostUrl(e.target.value)} placeholder="http://10.0.0.21:8443" />
          <FieldError error={error} field="hostUrl" id="host-url-error" />
          <label htmlFor="host-token">Registration token</label>
          <input id="host-token" value={token} onChange={(e) => setToken(e.target.value)} />
          <label htmlFor="host-node-id">Node id (optional)</label>
          <input id="host-node-id" value={nodeId} onChange={(e) => setNodeId(e.target.value)} />
          <label htmlFor="host-cluster">Cluster (optional)</label>
          <input id="host-cluster" value={clusterId} onChange={(e) => setClusterId(e.target.value)} />
        </fieldset>
        <ErrorBanner error={error} />
        {guidanceFor(code) ? (
          <p className="guidance" data-guidance={code}>
            {guidanceFor(code)}
          </p>
        ) : null}
        <div className="wizard-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy || hostUrl === ''}>
            Add host
          </button>
        </div>
      </form>
    </div>
  );
}
