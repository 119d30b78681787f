// The cluster creation wizard: name, then HA and DRS, then review. Settings left at their
// defaults are not sent: the server's defaults apply (docs/api/openapi.yaml, ClusterCreate).

import { useState } from 'react';
import { post } from '../api/client';
import { navigate } from '../ui/router';
import { ErrorBanner, FieldError } from '../ui/common';
import { useWizard, WizardButtons } from '../ui/wizard';

export interface ClusterDraft {
  id: string;
  name: string;
  description: string;
  haEnabled: boolean;
  drsEnabled: boolean;
  drsAutomation: 'manual' | 'partially_automated' | 'fully_automated';
}

export function clusterBody(d: ClusterDraft) {
  const body: Record<string, unknown> = { name: d.name.trim() };
  if (d.id.trim() !== '') body.id = d.id.trim();
  if (d.description !== '') body.description = d.description;
  body.ha = { enabled: d.haEnabled };
  body.drs = d.drsEnabled ? { enabled: true, automation: d.drsAutomation } : { enabled: false };
  return body;
}

export function CreateClusterWizard({ onClose }: { onClose: () => void }) {
  const { step, setStep, error, busy, submit } = useWizard((field) => (field.startsWith('ha') || field.startsWith('drs') ? 1 : 0));
  const [d, setD] = useState<ClusterDraft>({ id: '', name: '', description: '', haEnabled: true, drsEnabled: true, drsAutomation: 'manual' });
  const set = (p: Partial<ClusterDraft>) => setD({ ...d, ...p });
  return (
    <div className="wizard" role="dialog" aria-labelledby="cluster-wizard-title">
      <h2 id="cluster-wizard-title">New cluster</h2>
      {step === 0 ? (
        <fieldset>
          <legend>Name</legend>
          <label htmlFor="cluster-name">Name</label>
          <input id="cluster-name" value={d.name} onChange={(e) => set({ name: e.target.value })} />
          <FieldError error={error} field="name" id="cluster-name-error" />
          <label htmlFor="cluster-id">Id (optional)</label>
          <input id="cluster-id" value={d.id} onChange={(e) => set({ id: e.target.value })} />
          <FieldError error={error} field="id" id="cluster-id-error" />
          <label htmlFor="cluster-description">Description</label>
          <input id="cluster-description" value={d.description} onChange={(e) => set({ description: e.target.value })} />
        </fieldset>
      ) : null}
      {step === 1 ? (
        <fieldset>
          <legend>HA and DRS</legend>
          <label>
            <input type="checkbox" checked={d.haEnabled} onChange={(e) => set({ haEnabled: e.target.checked })} /> HA: restart VMs of a failed host elsewhere
          </label>
          <span />
          <label>
            <input type="checkbox" checked={d.drsEnabled} onChange={(e) => set({ drsEnabled: e.target.checked })} /> DRS: balance the hosts' load
          </label>
          <span />
          <label htmlFor="cluster-drs-automation">DRS automation</label>
          <select id="cluster-drs-automation" value={d.drsAutomation} onChange={(e) => set({ drsAutomation: e.target.value as ClusterDraft['drsAutomation'] })} disabled={!d.drsEnabled}>
            <option value="manual">manual (recommend only)</option>
            <option value="partially_automated">partially automated</option>
            <option value="fully_automated">fully automated</option>
          </select>
          <FieldError error={error} field="drs" id="cluster-drs-error" />
        </fieldset>
      ) : null}
      {step === 2 ? <pre aria-label="Review">{JSON.stringify(clusterBody(d), null, 2)}</pre> : null}
      <ErrorBanner error={error} />
      <WizardButtons
        step={step}
        last={2}
        busy={busy}
        onStep={setStep}
        onClose={onClose}
        onCreate={() =>
          void submit(async () => {
            const a = await post<{ id: string }>('/api/v1/clusters', clusterBody(d));
            onClose();
            navigate(`/clusters/${encodeURIComponent(a.body.id)}`);
          })
        }
      />
    </div>
  );
}
