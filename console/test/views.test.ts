import { describe, expect, it } from 'vitest';
import { ApiError, errorOf, fieldError } from '../src/api/errors';
import type { Cluster, Node, Vm } from '../src/api/types';
import { concerns, ReloadGate } from '../src/live/reload_gate';
import { clusterUsage } from '../src/pages/dashboard';
import { allocated } from '../src/pages/hosts';
import { timelineQuery } from '../src/pages/others';
import { createBody, emptyDraft, placeableHosts, poolsOf, stepOfField } from '../src/pages/vm_wizard';
import { valueOf } from '../src/pages/vms';
import { filterRows, nextSort, sortRows } from '../src/ui/table_logic';
import { mergeOperations } from '../src/ui/tasks';
import { visibleRows } from '../src/ui/virtual_window';
import type { Operation } from '../src/live/frames';

const vm = (id: string, name: string, vcpus = 1, nodeId = 'n1', powerState: Vm['powerState'] = 'running'): Vm => ({
  id,
  powerState,
  nodeId,
  spec: { name, vcpus, memoryMib: 512 * vcpus },
  snapshots: [],
  migrationTarget: '',
  lastReason: '',
  version: 1,
});
const node = (id: string, state: Node['state'], memoryMib: number, clusterId = 'c1'): Node => ({
  id,
  hostname: id,
  address: '',
  state,
  clusterId,
  hardware: { cpuThreads: 8, memoryMib },
  allocations: { a: { vcpus: 2, memoryMib: 1024 }, b: { vcpus: 1, memoryMib: 512 } },
  version: 1,
});

describe('errors', () => {
  it('reads the API error shape, and names the field for the form', () => {
    const e = errorOf(400, { error: { code: 'INVALID_ARGUMENT', message: 'too long', details: { field: 'spec.name' } } });
    expect(e.summary).toBe('INVALID_ARGUMENT: too long');
    expect(fieldError(e, 'spec.name')).toBe('INVALID_ARGUMENT: too long');
    expect(fieldError(e, 'spec')).toBe('INVALID_ARGUMENT: too long');
    expect(fieldError(e, 'spec.vcpus')).toBe('');
    expect(errorOf(502, '<html>').code).toBe('HTTP_502');
    expect(fieldError(new Error('x'), 'spec.name')).toBe('');
    expect(new ApiError(409, 'CONFLICT', 'm', { field: 3 }).field).toBe('');
  });
});

describe('lists', () => {
  const rows = [vm('b', 'web-2', 2), vm('a', 'db-1', 4, 'n2', 'stopped'), vm('c', 'web-1', 1)];
  it('filter by every word, sort stably by a column, flip on a second click', () => {
    expect(filterRows(rows, 'WEB', (v) => [v.spec.name]).map((v) => v.id)).toEqual(['b', 'c']);
    expect(filterRows(rows, 'web n1 running', (v) => [v.spec.name, v.nodeId, v.powerState]).map((v) => v.id)).toEqual(['b', 'c']);
    expect(sortRows(rows, { key: 'name', direction: 'asc' }, valueOf).map((v) => v.id)).toEqual(['a', 'c', 'b']);
    expect(sortRows(rows, { key: 'vcpus', direction: 'desc' }, valueOf).map((v) => v.id)).toEqual(['a', 'b', 'c']);
    expect(nextSort({ key: 'name', direction: 'asc' }, 'name')).toEqual({ key: 'name', direction: 'desc' });
    expect(nextSort({ key: 'name', direction: 'desc' }, 'id')).toEqual({ key: 'id', direction: 'asc' });
  });
  it('render only the rows in view of 10,000', () => {
    const w = visibleRows(34 * 5000, 680, 34, 10000, 8);
    expect(w.first).toBe(4992);
    expect(w.last).toBe(5028);
    expect(w.offset).toBe(4992 * 34);
    expect(visibleRows(0, 680, 34, 3)).toEqual({ first: 0, last: 3, offset: 0 });
    expect(visibleRows(0, 600, 34, 0)).toEqual({ first: 0, last: 0, offset: 0 });
  });
});

describe('wizard', () => {
  it('builds the create request and finds the step of a refused field', () => {
    expect(createBody({ ...emptyDraft, name: 'web', vcpus: 2, memoryMib: 2048 })).toEqual({ spec: { name: 'web', vcpus: 2, memoryMib: 2048 } });
    expect(createBody({ ...emptyDraft, id: ' w1 ', name: 'web', haRestartPriority: 3 })).toEqual({ id: 'w1', spec: { name: 'web', vcpus: 1, memoryMib: 1024, haRestartPriority: 3 } });
    expect(stepOfField('nodeId')).toBe(2);
    expect(stepOfField('volumeIds[0]')).toBe(1);
    expect(stepOfField('cloudInitUserData')).toBe(1);
    expect(stepOfField('name')).toBe(0);
    expect(createBody({ ...emptyDraft, name: 'w', volumeIds: ['d1'], networkIds: ['n1'], bootImageId: 'iso', cloudInit: '#cloud-config' }).spec).toEqual({
      name: 'w',
      vcpus: 1,
      memoryMib: 1024,
      volumeIds: ['d1'],
      networkIds: ['n1'],
      bootImageId: 'iso',
      cloudInitUserData: '#cloud-config',
    });
  });
  it('offers only connected hosts with the memory', () => {
    const hosts = [node('n1', 'connected', 4096), node('n2', 'maintenance', 65536), node('n3', 'connected', 1024)];
    expect(placeableHosts(hosts, 2048).map((n) => n.id)).toEqual(['n1']);
    // A volume's pool must be reachable from the host.
    const more = [...hosts, node('n4', 'connected', 8192)];
    const pools = poolsOf(['d1'], [{ id: 'd1', name: 'd1', poolId: 'p2' }], [{ id: 'p1', nodeIds: ['n1', 'n4'] }, { id: 'p2', nodeIds: ['n4'] }]);
    expect(pools.map((p) => p.id)).toEqual(['p2']);
    expect(placeableHosts(more, 2048, pools).map((n) => n.id)).toEqual(['n4']);
  });
});

describe('usage', () => {
  it('sums what a host holds and what a cluster runs', () => {
    expect(allocated(node('n1', 'connected', 4096))).toEqual({ vcpus: 3, memoryMib: 1536 });
    const c: Cluster = { id: 'c1', name: 'c1', version: 1 };
    const u = clusterUsage(c, [node('n1', 'connected', 4096), node('n9', 'connected', 4096, 'other')], [vm('a', 'a', 2), vm('b', 'b', 1, 'n1', 'stopped'), vm('c', 'c', 4, 'n9')]);
    expect(u).toEqual({ hosts: 1, vcpus: 2, threads: 8, memoryMib: 1024, totalMib: 4096 });
  });
});

describe('tasks', () => {
  const op = (id: string, createdAt: string, updatedAt: string, progress: number): Operation => ({ id, kind: 'vm.start', target: 'vm-a', state: 'running', progress, result: {}, error: null, createdAt, updatedAt });
  it('keeps the newest state of each operation, newest first', () => {
    let ops = mergeOperations([], [op('op-1', '1', '1', 0), op('op-2', '2', '2', 0)]);
    ops = mergeOperations(ops, [op('op-1', '1', '3', 60)]);
    ops = mergeOperations(ops, [op('op-1', '1', '2', 30)]); // late and older: ignored
    expect(ops.map((o) => [o.id, o.progress])).toEqual([
      ['op-2', 0],
      ['op-1', 60],
    ]);
  });
});

describe('live reloads', () => {
  it('a burst of events makes one reload after the running one, never a pile', async () => {
    let runs = 0;
    let release: () => void = () => {};
    const gate = new ReloadGate(
      () =>
        new Promise<void>((r) => {
          runs++;
          release = r;
        }),
    );
    gate.trigger();
    for (let i = 0; i < 10; i++) gate.trigger();
    expect(runs).toBe(1);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toBe(2);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toBe(2);
  });
  it('a view reloads for the streams it shows', () => {
    expect(concerns('vm-web1', ['vm-'])).toBe(true);
    expect(concerns('node-n1', ['vm-'])).toBe(false);
    expect(concerns('anything', [''])).toBe(true);
  });
  it('the timeline asks for what its filters say', () => {
    expect(timelineQuery({ stream: ' vm-a ', principal: '', type: 'qx.events.v1.VmCreated' })).toBe('limit=200&stream=vm-a&type=qx.events.v1.VmCreated');
  });
});

describe('cluster', () => {
  it('says where the imbalance stands against its target', async () => {
    const { imbalanceText } = await import('../src/pages/cluster_detail');
    expect(imbalanceText({ imbalance: 0.4219, targetImbalance: 0.1 })).toBe('0.422 (target 0.100): above its target');
    expect(imbalanceText({ imbalance: 0, targetImbalance: 0.1 })).toBe('0.000 (target 0.100): within its target');
  });
});
