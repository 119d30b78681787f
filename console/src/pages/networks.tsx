// Networks (list with their IP allocations, a creation wizard: type, name, addressing, review)
// and security groups (their inbound and outbound rules, add and remove).

import { useState } from 'react';
import { del, post } from '../api/client';
import { listOf } from '../live/time_travel';
import { useLive } from '../live/useLive';
import { ErrorBanner, FieldError, Head, Page } from '../ui/common';
import { useWizard, WizardButtons } from '../ui/wizard';

interface Network {
  id: string;
  name: string;
  type: 'vlan' | 'overlay' | 'external';
  vlanId: number;
  cidr: string;
  gateway: string;
  dhcp: boolean;
  allocations: Record<string, unknown>;
}
interface Rule {
  ruleId: string;
  direction: 'inbound' | 'outbound';
  protocol: 'tcp' | 'udp' | 'icmp' | 'any';
  portFrom?: number;
  portTo?: number;
  cidr: string;
}
interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  rules: Rule[];
}

export interface NetworkDraft {
  type: Network['type'];
  name: string;
  vlanId: number;
  cidr: string;
  gateway: string;
  dhcp: boolean;
}

/** The create request of a network draft (NetworkCreate): no VLAN id off VLANs, no empty gateway. */
export function networkBody(d: NetworkDraft) {
  const body: Record<string, unknown> = { name: d.name, type: d.type, cidr: d.cidr, dhcp: d.dhcp };
  if (d.type === 'vlan') body.vlanId = d.vlanId;
  if (d.gateway.trim() !== '') body.gateway = d.gateway.trim();
  return body;
}

/** "tcp 22-22 from 10.0.0.0/8" as the rules table says it. */
export function ruleText(r: Rule): string {
  const ports = r.protocol === 'tcp' || r.protocol === 'udp' ? ` ${r.portFrom ?? 0}-${r.portTo ?? r.portFrom ?? 0}` : '';
  return `${r.protocol}${ports} ${r.direction === 'inbound' ? 'from' : 'to'} ${r.cidr}`;
}

function NetworkWizard({ onClose }: { onClose: () => void }) {
  const { step, setStep, error, busy, submit } = useWizard((field) => (['cidr', 'gateway'].includes(field) ? 1 : 0));
  const [d, setD] = useState<NetworkDraft>({ type: 'vlan', name: '', vlanId: 100, cidr: '', gateway: '', dhcp: true });
  const set = (p: Partial<NetworkDraft>) => setD({ ...d, ...p });
  return (
    <div className="wizard" role="dialog" aria-labelledby="net-wizard-title">
      <h2 id="net-wizard-title">New network</h2>
      {step === 0 ? (
        <fieldset>
          <legend>Type and name</legend>
          <label htmlFor="net-type">Type</label>
          <select id="net-type" value={d.type} onChange={(e) => set({ type: e.target.value as Network['type'] })}>
            <option value="vlan">VLAN</option>
            <option value="overlay">Overlay</option>
            <option value="external">External</option>
          </select>
          <label htmlFor="net-name">Name</label>
          <input id="net-name" value={d.name} onChange={(e) => set({ name: e.target.value })} />
          <FieldError error={error} field="name" id="net-name-error" />
          {d.type === 'vlan' ? (
            <>
              <label htmlFor="net-vlan">VLAN id</label>
              <input id="net-vlan" type="number" value={d.vlanId} onChange={(e) => set({ vlanId: Number(e.target.value) })} />
              <FieldError error={error} field="vlanId" id="net-vlan-error" />
            </>
          ) : null}
        </fieldset>
      ) : null}
      {step === 1 ? (
        <fieldset>
          <legend>Addressing</legend>
          <label htmlFor="net-cidr">CIDR</label>
          <input id="net-cidr" value={d.cidr} onChange={(e) => set({ cidr: e.target.value })} placeholder="10.0.10.0/24" />
          <FieldError error={error} field="cidr" id="net-cidr-error" />
          <label htmlFor="net-gateway">Gateway</label>
          <input id="net-gateway" value={d.gateway} onChange={(e) => set({ gateway: e.target.value })} />
          <FieldError error={error} field="gateway" id="net-gateway-error" />
          <label>
            <input type="checkbox" checked={d.dhcp} onChange={(e) => set({ dhcp: e.target.checked })} /> DHCP
          </label>
        </fieldset>
      ) : null}
      {step === 2 ? <pre aria-label="Review">{JSON.stringify(networkBody(d), null, 2)}</pre> : null}
      <ErrorBanner error={error} />
      <WizardButtons
        step={step}
        last={2}
        busy={busy}
        onStep={setStep}
        onClose={onClose}
        onCreate={() =>
          void submit(async () => {
            await post('/api/v1/networks', networkBody(d));
            onClose();
          })
        }
      />
    </div>
  );
}

export function NetworksPage() {
  const nets = useLive(() => listOf<Network>('network', '/api/v1/networks'), ['net-']);
  const groups = useLive(() => listOf<SecurityGroup>('security_group', '/api/v1/security-groups'), ['sg-']);
  const [wizard, setWizard] = useState(false);
  const [error, setError] = useState<unknown>();
  const [rule, setRule] = useState<{ group: string; direction: Rule['direction']; protocol: Rule['protocol']; port: string; cidr: string }>({
    group: '',
    direction: 'inbound',
    protocol: 'tcp',
    port: '22',
    cidr: '0.0.0.0/0',
  });
  return (
    <Page
      title="Networks"
      actions={
        <button type="button" onClick={() => setWizard(true)}>
          New network
        </button>
      }
    >
      {wizard ? <NetworkWizard onClose={() => setWizard(false)} /> : null}
      <ErrorBanner error={nets.error ?? groups.error ?? error} />
      <table aria-label="Networks">
        <Head columns={['Network', 'Type', 'VLAN', 'CIDR', 'Gateway', 'DHCP', 'Addresses in use']} />
        <tbody>
          {(nets.data ?? []).map((n) => (
            <tr key={n.id} data-network={n.id}>
              <td>{n.name || n.id}</td>
              <td>{n.type}</td>
              <td>{n.type === 'vlan' ? n.vlanId : ''}</td>
              <td>{n.cidr}</td>
              <td>{n.gateway}</td>
              <td>{n.dhcp ? 'yes' : 'no'}</td>
              <td>{Object.keys(n.allocations ?? {}).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Security groups</h2>
      {(groups.data ?? []).map((g) => (
        <section key={g.id} aria-label={`Security group ${g.name}`} data-group={g.id}>
          <h3>{g.name}</h3>
          <p>{g.description}</p>
          <ul>
            {g.rules.map((r) => (
              <li key={r.ruleId}>
                {ruleText(r)}{' '}
                <button type="button" onClick={() => del(`/api/v1/security-groups/${encodeURIComponent(g.id)}/rules/${encodeURIComponent(r.ruleId)}`).catch(setError)}>
                  Remove {r.ruleId}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <form
        className="inline-form"
        aria-label="Add a rule"
        onSubmit={(e) => {
          e.preventDefault();
          setError(undefined);
          const port = Number(rule.port);
          const body: Record<string, unknown> = { direction: rule.direction, protocol: rule.protocol, cidr: rule.cidr };
          if (rule.protocol === 'tcp' || rule.protocol === 'udp') Object.assign(body, { portFrom: port, portTo: port });
          post(`/api/v1/security-groups/${encodeURIComponent(rule.group)}/rules`, body).catch(setError);
        }}
      >
        <label htmlFor="rule-group">Group</label>
        <select id="rule-group" value={rule.group} onChange={(e) => setRule({ ...rule, group: e.target.value })}>
          <option value="">choose</option>
          {(groups.data ?? []).map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
        <label htmlFor="rule-direction">Direction</label>
        <select id="rule-direction" value={rule.direction} onChange={(e) => setRule({ ...rule, direction: e.target.value as Rule['direction'] })}>
          <option value="inbound">inbound</option>
          <option value="outbound">outbound</option>
        </select>
        <label htmlFor="rule-protocol">Protocol</label>
        <select id="rule-protocol" value={rule.protocol} onChange={(e) => setRule({ ...rule, protocol: e.target.value as Rule['protocol'] })}>
          <option value="tcp">tcp</option>
          <option value="udp">udp</option>
          <option value="icmp">icmp</option>
          <option value="any">any</option>
        </select>
        <label htmlFor="rule-port">Port</label>
        <input id="rule-port" value={rule.port} onChange={(e) => setRule({ ...rule, port: e.target.value })} />
        <label htmlFor="rule-cidr">CIDR</label>
        <input id="rule-cidr" value={rule.cidr} onChange={(e) => setRule({ ...rule, cidr: e.target.value })} />
        <FieldError error={error} field="cidr" id="rule-cidr-error" />
        <button type="submit" disabled={rule.group === ''}>
          Add rule
        </button>
      </form>
    </Page>
  );
}
