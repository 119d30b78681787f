import type { EventFrame } from '../live/frames';

// The API's resources as the console reads them (docs/api/openapi.yaml).

export type PowerState = 'defined' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'migrating' | 'error' | 'deleted';

export interface VmSpec {
  name: string;
  vcpus: number;
  memoryMib: number;
  volumeIds?: string[];
  networkIds?: string[];
  bootImageId?: string;
  cloudInitUserData?: string;
  haRestartPriority?: number;
}

export interface Vm {
  id: string;
  powerState: PowerState;
  nodeId: string;
  spec: VmSpec;
  snapshots: { name: string; description: string; powerState: string }[];
  migrationTarget: string;
  lastReason: string;
  version: number;
}

export interface Node {
  id: string;
  hostname: string;
  address: string;
  state: 'connected' | 'disconnected' | 'maintenance' | 'decommissioned';
  clusterId: string;
  hardware: { cpuThreads?: number; memoryMib?: number } & Record<string, unknown>;
  allocations: Record<string, unknown>;
  version: number;
}

export interface Cluster {
  id: string;
  name: string;
  nodeIds?: string[];
  drs?: Record<string, unknown>;
  ha?: Record<string, unknown>;
  version: number;
}

export interface Alert {
  id: string;
  severity: string;
  state: string;
  message?: string;
  summary?: string;
  object?: string;
  version: number;
}

/** An event of the log as GET /api/v1/events and the watch show it. */
export type LoggedEvent = Omit<EventFrame, 'type'>;
