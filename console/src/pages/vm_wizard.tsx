// The VM creation wizard: name and size, placement (a connected host with room, or let the
// control plane place it), review; the server's refusal is shown beside the field it names and
// takes the user back to that field's step.

import { useState } from 'react';
import { post } from '../api/client';
import { ApiError } from '../api/errors';
import type { Node, Vm } from '../api/types';
import { navigate } from '../ui/router';
import { ErrorBanner, FieldError } from '../ui/common';

export interface Draft {
  id: string;
  name: string;
  vcpus: number;
  memoryMib: number;
  nodeId: string;
  powerOn: boolean;
  haRestartPriority: number;
}

export const emptyDraft: Draft = { id: '', name: '', vcpus: 1, memoryMib: 1024, nodeId: '', powerOn: true, haRestartPriority: 0 };

/** The create request for a draft (docs/api/openapi.yaml, VmCreate). */
export function createBody(d: Draft) {
  const spec: Record<string, unknown> = { name: d.name, vcpus: d.vcpus, memoryMib: d.memoryMib };
  if (d.haRestartPriority !== 0) spec.haRestartPriority = d.haRestartPriority;
  return d.id.trim() === '' ? { spec } : { id: d.id.trim(), spec };
}

/** The wizard step that holds the field an error names (0 name and size, 1 placement). */
export function stepOfField(field: string): number {
  return field === 'nodeId' ? 1 : 0;
}

/** Hosts a VM of this size may go to: connected, with its memory free by the hosts' figures. */
export function placeableHosts(nodes: Node[], memoryMib: number): Node[] {
  return nodes.filter((n) => n.state === 'connected' && (n.hardware.memoryMib ?? 0) >= memoryMib);
}

const steps = ['Name and size', 'Placement', 'Review'];

export function CreateVmWizard({ nodes, onClose }: { nodes: Node[]; onClose: () => void }) {
  const [step, setStep] = useState(0);
  const [d, setD] = useState<Draft>(emptyDraft);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const hosts = placeableHosts(nodes, d.memoryMib);
  const set = (patch: Partial<Draft>) => setD({ ...d, ...patch });
  const finish = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const created = await post<Vm>('/api/v1/vms', createBody(d));
      if (d.powerOn) await post(`/api/v1/vms/${encodeURIComponent(created.body.id)}/start`, d.nodeId ? { nodeId: d.nodeId } : {});
      onClose();
      navigate(`/vms/${encodeURIComponent(created.body.id)}`);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.field) setStep(stepOfField(e.field.replace(/^spec\./, '')));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="wizard" role="dialog" aria-modal="false" aria-labelledby="wizard-title">
      <h2 id="wizard-title">New virtual machine</h2>
      <ol className="wizard-steps">
        {steps.map((s, i) => (
          <li key={s} aria-current={i === step ? 'step' : undefined}>
            {s}
          </li>
        ))}
      </ol>
      {step === 0 ? (
        <fieldset>
          <legend>Name and size</legend>
          <label htmlFor="vm-name">Name</label>
          <input id="vm-name" value={d.name} onChange={(e) => set({ name: e.target.value })} aria-describedby="vm-name-error" />
          <FieldError error={error} field="spec.name" id="vm-name-error" />
          <label htmlFor="vm-id">Id (optional)</label>
          <input id="vm-id" value={d.id} onChange={(e) => set({ id: e.target.value })} aria-describedby="vm-id-error" />
          <FieldError error={error} field="id" id="vm-id-error" />
          <label htmlFor="vm-vcpus">vCPUs</label>
          <input id="vm-vcpus" type="number" min={1} value={d.vcpus} onChange={(e) => set({ vcpus: Number(e.target.value) })} aria-describedby="vm-vcpus-error" />
          <FieldError error={error} field="spec.vcpus" id="vm-vcpus-error" />
          <label htmlFor="vm-memory">Memory (MiB)</label>
          <input id="vm-memory" type="number" min={16} value={d.memoryMib} onChange={(e) => set({ memoryMib: Number(e.target.value) })} aria-describedby="vm-memory-error" />
          <FieldError error={error} field="spec.memoryMib" id="vm-memory-error" />
          <label htmlFor="vm-ha">HA restart priority</label>
          <input id="vm-ha" type="number" value={d.haRestartPriority} onChange={(e) => set({ haRestartPriority: Number(e.target.value) })} />
        </fieldset>
      ) : null}
      {step === 1 ? (
        <fieldset>
          <legend>Placement</legend>
          <label htmlFor="vm-node">Host</label>
          <select id="vm-node" value={d.nodeId} onChange={(e) => set({ nodeId: e.target.value })}>
            <option value="">Let the control plane place it</option>
            {hosts.map((n) => (
              <option key={n.id} value={n.id}>
                {n.id} ({n.clusterId || 'no cluster'}, {n.hardware.memoryMib ?? 0} MiB)
              </option>
            ))}
          </select>
          <FieldError error={error} field="nodeId" id="vm-node-error" />
          <label>
            <input type="checkbox" checked={d.powerOn} onChange={(e) => set({ powerOn: e.target.checked })} /> Power on after creation
          </label>
        </fieldset>
      ) : null}
      {step === 2 ? (
        <dl className="review" aria-label="Review">
          <dt>Name</dt>
          <dd>{d.name}</dd>
          <dt>Size</dt>
          <dd>
            {d.vcpus} vCPU, {d.memoryMib} MiB
          </dd>
          <dt>Host</dt>
          <dd>{d.nodeId || 'placed by the control plane'}</dd>
          <dt>Power on</dt>
          <dd>{d.powerOn ? 'yes' : 'no'}</dd>
        </dl>
      ) : null}
      <ErrorBanner error={error} />
      <div className="wizard-buttons">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" disabled={step === 0} onClick={() => setStep(step - 1)}>
          Back
        </button>
        {step < 2 ? (
          <button type="button" onClick={() => setStep(step + 1)}>
            Next
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => void finish()}>
            Create
          </button>
        )}
      </div>
    </div>
  );
}
