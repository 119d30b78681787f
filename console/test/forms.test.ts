import { describe, expect, it } from 'vitest';
import { guidanceFor } from '../src/pages/add_host';
import { networkBody, ruleText } from '../src/pages/networks';

describe('add host', () => {
  it('has advice for every registration code the API documents', () => {
    for (const code of ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'HOST_FIRMWARE_OUTDATED', 'HOST_API_NOT_AVAILABLE', 'HOST_CONNECTION_FAILED', 'NETWORK_UNREACHABLE', 'TLS_ERROR', 'INVALID_RESPONSE', 'CONNECTION_TIMEOUT'])
      expect(guidanceFor(code), code).not.toBe('');
    expect(guidanceFor('SOMETHING_ELSE')).toBe('');
  });
});

describe('networks', () => {
  it('sends a VLAN id only for VLANs and no empty gateway', () => {
    expect(networkBody({ type: 'vlan', name: 'n', vlanId: 7, cidr: '10.0.0.0/24', gateway: '', dhcp: true })).toEqual({ name: 'n', type: 'vlan', cidr: '10.0.0.0/24', dhcp: true, vlanId: 7 });
    expect(networkBody({ type: 'overlay', name: 'o', vlanId: 7, cidr: '10.1.0.0/16', gateway: ' 10.1.0.1 ', dhcp: false })).toEqual({ name: 'o', type: 'overlay', cidr: '10.1.0.0/16', dhcp: false, gateway: '10.1.0.1' });
  });
  it('says a rule as a person reads it', () => {
    expect(ruleText({ ruleId: 'rule-1', direction: 'inbound', protocol: 'tcp', portFrom: 22, portTo: 22, cidr: '10.0.0.0/8' })).toBe('tcp 22-22 from 10.0.0.0/8');
    expect(ruleText({ ruleId: 'rule-2', direction: 'outbound', protocol: 'icmp', cidr: '0.0.0.0/0' })).toBe('icmp to 0.0.0.0/0');
  });
});

describe('cluster wizard', () => {
  it('sends the name, and DRS automation only when DRS is on', async () => {
    const { clusterBody } = await import('../src/pages/cluster_wizard');
    expect(clusterBody({ id: '', name: ' prod ', description: '', haEnabled: true, drsEnabled: false, drsAutomation: 'fully_automated' })).toEqual({ name: 'prod', ha: { enabled: true }, drs: { enabled: false } });
    expect(clusterBody({ id: 'c2', name: 'c', description: 'x', haEnabled: false, drsEnabled: true, drsAutomation: 'manual' })).toEqual({ id: 'c2', name: 'c', description: 'x', ha: { enabled: false }, drs: { enabled: true, automation: 'manual' } });
  });
});
