// The VM creation wizard: name and size; disks (volumes from the pools), networks, boot image
// and cloud-init; placement (a connected host with room that reaches every chosen volume's
// pool, or let the control plane place it); review; the server's refusal is shown beside the field it names and
// takes the user back to that field's step.

import { useState } from 'react';
import { post } from '../api/client';
import type { Node, Vm } from '../api/types';
import { navigate } from '../ui/router';
import { listOf } from '../live/time_travel';
import { useLive } from '../live/useLive';
import { ErrorBanner, FieldError } from '../ui/common';
import { useWizard, WizardButtons } from '../ui/wizard';

export interface Draft {
  id: string;
  name: string;
  vcpus: number;
  memoryMib: number;
  nodeId: string;
  powerOn: boolean;
  haRestartPriority: number;
  volumeIds: string[];
  networkIds: string[];
  bootImageId: string;
  cloudInit: string;
}

export const emptyDraft: Draft = {
  id: '',
  name: '',
  vcpus: 1,
  memoryMib: 1024,
  nodeId: '',
  powerOn: true,
  haRestartPriority: 0,
  volumeIds: [],
  networkIds: [],
  bootImageId: '',
  cloudInit: '',
};

interface WizardVolume {
  id: string;
  name: string;
  poolId: string;
  attachedVmIds?: string[];
}
interface WizardPool {
  id: string;
  nodeIds?: string[];
}
interface Named {
  id: string;
  name: string;
  state?: string;
}

/** The create request for a draft (docs/api/openapi.yaml, VmCreate). */
export function createBody(d: Draft) {
  const spec: Record<string, unknown> = { name: d.name, vcpus: d.vcpus, memoryMib: d.memoryMib };
  if (d.haRestartPriority !== 0) spec.haRestartPriority = d.haRestartPriority;
  if (d.volumeIds.length > 0) spec.volumeIds = d.volumeIds;
  if (d.networkIds.length > 0) spec.networkIds = d.networkIds;
  if (d.bootImageId !== '') spec.bootImageId = d.bootImageId;
  if (d.cloudInit !== '') spec.cloudInitUserData = d.cloudInit;
  return d.id.trim() === '' ? { spec } : { id: d.id.trim(), spec };
}

/** The wizard step that holds the field an error names (0 name and size, 1 disks and
 * network, 2 placement). */
export function stepOfField(field: string): number {
  if (field === 'nodeId') return 2;
  return ['volumeIds', 'networkIds', 'bootImageId', 'cloudInitUserData'].some((f) => field.startsWith(f)) ? 1 : 0;
}

/** Hosts a VM of this size may go to: connected, with the memory by the hosts' figures, and
 * assigned every pool that holds one of its volumes. */
export function placeableHosts(nodes: Node[], memoryMib: number, volumePools: readonly WizardPool[] = []): Node[] {
  return nodes.filter(
    (n) => n.state === 'connected' && (n.hardware.memoryMib ?? 0) >= memoryMib && volumePools.every((p) => (p.nodeIds ?? []).includes(n.id)),
  );
}

/** The pools that hold the chosen volumes. */
export function poolsOf(volumeIds: readonly string[], volumes: readonly WizardVolume[], pools: readonly WizardPool[]): WizardPool[] {
  const wanted = new Set(volumes.filter((v) => volumeIds.includes(v.id)).map((v) => v.poolId));
  return pools.filter((p) => wanted.has(p.id));
}

const steps = ['Name and size', 'Disks and network', 'Placement', 'Review'];

function toggled(list: string[], id: string, on: boolean): string[] {
  return on ? [...list, id] : list.filter((x) => x !== id);
}

export function CreateVmWizard({ nodes, onClose }: { nodes: Node[]; onClose: () => void }) {
  const [d, setD] = useState<Draft>(emptyDraft);
  const { step, setStep, error, busy, submit } = useWizard((field) => (field ? stepOfField(field.replace(/^spec\./, '')) : undefined));
  const volumes = useLive(() => listOf<WizardVolume>('volume', '/api/v1/volumes'), ['volume-']);
  const pools = useLive(() => listOf<WizardPool>('storage_pool', '/api/v1/storage/pools'), ['pool-']);
  const networks = useLive(() => listOf<Named>('network', '/api/v1/networks'), ['net-']);
  const images = useLive(() => listOf<Named>('image', '/api/v1/images'), ['image-']);
  const hosts = placeableHosts(nodes, d.memoryMib, poolsOf(d.volumeIds, volumes.data ?? [], pools.data ?? []));
  const freeVolumes = (volumes.data ?? []).filter((v) => (v.attachedVmIds ?? []).length === 0);
  const set = (patch: Partial<Draft>) => setD({ ...d, ...patch });
  const finish = () =>
    submit(async () => {
      const created = await post<Vm>('/api/v1/vms', createBody(d));
      if (d.powerOn) await post(`/api/v1/vms/${encodeURIComponent(created.body.id)}/start`, d.nodeId ? { nodeId: d.nodeId } : {});
      onClose();
      navigate(`/vms/${encodeURIComponent(created.body.id)}`);
    });
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
          <legend>Disks and network</legend>
          <span>Disks (free volumes)</span>
          <span>
            {freeVolumes.map((v) => (
              <label key={v.id}>
                <input type="checkbox" checked={d.volumeIds.includes(v.id)} onChange={(e) => set({ volumeIds: toggled(d.volumeIds, v.id, e.target.checked) })} /> {v.name || v.id} ({v.poolId})
              </label>
            ))}
            {freeVolumes.length === 0 ? 'none free' : null}
          </span>
          <span>Networks</span>
          <span>
            {(networks.data ?? []).map((n) => (
              <label key={n.id}>
                <input type="checkbox" checked={d.networkIds.includes(n.id)} onChange={(e) => set({ networkIds: toggled(d.networkIds, n.id, e.target.checked) })} /> {n.name || n.id}
              </label>
            ))}
          </span>
          <label htmlFor="vm-image">Boot image</label>
          <select id="vm-image" value={d.bootImageId} onChange={(e) => set({ bootImageId: e.target.value })}>
            <option value="">none</option>
            {(images.data ?? [])
              .filter((i) => i.state === 'ready')
              .map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name}
                </option>
              ))}
          </select>
          <label htmlFor="vm-cloud-init">Cloud-init user data</label>
          <textarea id="vm-cloud-init" rows={4} value={d.cloudInit} onChange={(e) => set({ cloudInit: e.target.value })} aria-describedby="vm-cloud-init-error" />
          <FieldError error={error} field="spec.cloudInitUserData" id="vm-cloud-init-error" />
        </fieldset>
      ) : null}
      {step === 2 ? (
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
      {step === 3 ? (
        <dl className="review" aria-label="Review">
          <dt>Name</dt>
          <dd>{d.name}</dd>
          <dt>Size</dt>
          <dd>
            {d.vcpus} vCPU, {d.memoryMib} MiB
          </dd>
          <dt>Host</dt>
          <dd>{d.nodeId || 'placed by the control plane'}</dd>
          <dt>Disks</dt>
          <dd>{d.volumeIds.join(', ') || 'none'}</dd>
          <dt>Networks</dt>
          <dd>{d.networkIds.join(', ') || 'none'}</dd>
          <dt>Boot image</dt>
          <dd>{d.bootImageId || 'none'}</dd>
          <dt>Power on</dt>
          <dd>{d.powerOn ? 'yes' : 'no'}</dd>
        </dl>
      ) : null}
      <ErrorBanner error={error} />
      <WizardButtons step={step} last={steps.length - 1} busy={busy} onStep={setStep} onClose={onClose} onCreate={() => void finish()} />
    </div>
  );
}
