// Storage and images: pools (usage, the nodes they are assigned to), volumes, and images with
// the ISO upload and its progress (the browser's bytes sent, then the server's bytes received).

import { useState } from 'react';
import { uploadImage } from '../api/upload';
import { listOf } from '../live/time_travel';
import { useLive } from '../live/useLive';
import { ErrorBanner, FieldError, Page, StateBadge, UsageBar, Head } from '../ui/common';

export interface Pool {
  id: string;
  name: string;
  type?: string;
  capacityBytes?: number;
  nodeIds?: string[];
  /** Bytes held by each volume, by volume id. */
  volumes?: Record<string, number>;
}
interface Volume {
  id: string;
  name: string;
  poolId: string;
  sizeBytes: number;
  attachedVmIds?: string[];
}
interface Image {
  id: string;
  name: string;
  format: string;
  sizeBytes: number;
  receivedBytes: number;
  state: string;
  sha256: string;
  error: string;
}

/** What a pool's volumes hold of it. */
export function poolAllocated(p: Pool): number {
  return Object.values(p.volumes ?? {}).reduce((s, b) => s + Number(b), 0);
}

const mib = (b: number | undefined) => Math.round((b ?? 0) / 1048576);

export function StoragePage() {
  const pools = useLive(() => listOf<Pool>('storage_pool', '/api/v1/storage/pools'), ['pool-']);
  const volumes = useLive(() => listOf<Volume>('volume', '/api/v1/volumes'), ['volume-']);
  return (
    <Page title="Storage">
      <ErrorBanner error={pools.error ?? volumes.error} />
      <h2>Pools</h2>
      <ul className="cards" aria-label="Pools">
        {(pools.data ?? []).map((p) => (
          <li key={p.id} className="card" data-pool={p.id}>
            <h3>{p.name || p.id}</h3>
            <p>{p.type}</p>
            <UsageBar used={mib(poolAllocated(p))} total={mib(p.capacityBytes)} label={`${p.id} MiB allocated`} />
            <p>Nodes: {(p.nodeIds ?? []).join(', ') || 'none'}</p>
          </li>
        ))}
      </ul>
      <h2>Volumes</h2>
      <table aria-label="Volumes">
        <Head columns={['Volume', 'Pool', 'Size (MiB)', 'VM']} />
        <tbody>
          {(volumes.data ?? []).map((v) => (
            <tr key={v.id}>
              <td>{v.name || v.id}</td>
              <td>{v.poolId}</td>
              <td>{mib(v.sizeBytes)}</td>
              <td>{(v.attachedVmIds ?? []).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

export function ImagesPage() {
  const images = useLive(() => listOf<Image>('image', '/api/v1/images'), ['image-']);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<'iso' | 'raw' | 'qcow2'>('iso');
  const [sent, setSent] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <Page title="Images">
      <form
        className="inline-form"
        aria-label="Upload an image"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!file) return;
          setBusy(true);
          setError(undefined);
          setSent({ sent: 0, total: file.size });
          try {
            await uploadImage({ file, fileName: file.name, name, format }, (s, total) => setSent({ sent: s, total }));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="image-file">File</label>
        <input id="image-file" type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <label htmlFor="image-name">Name</label>
        <input id="image-name" value={name} onChange={(e) => setName(e.target.value)} aria-describedby="image-name-error" />
        <FieldError error={error} field="name" id="image-name-error" />
        <label htmlFor="image-format">Format</label>
        <select id="image-format" value={format} onChange={(e) => setFormat(e.target.value as 'iso' | 'raw' | 'qcow2')}>
          <option value="iso">ISO</option>
          <option value="raw">raw</option>
          <option value="qcow2">qcow2</option>
        </select>
        <button type="submit" disabled={busy || !file}>
          Upload
        </button>
        {sent ? (
          <span data-upload-sent={sent.sent} data-upload-total={sent.total}>
            <progress max={sent.total} value={sent.sent} aria-label="Upload progress" /> {Math.round((100 * sent.sent) / Math.max(1, sent.total))}% sent
          </span>
        ) : null}
      </form>
      <ErrorBanner error={images.error ?? error} />
      <table aria-label="Images">
        <Head columns={['Image', 'Format', 'State', 'Received', 'SHA-256']} />
        <tbody>
          {(images.data ?? []).map((i) => (
            <tr key={i.id} data-image={i.id} data-state={i.state} data-sha256={i.sha256}>
              <td>{i.name}</td>
              <td>{i.format}</td>
              <td>
                <StateBadge state={i.state} /> {i.error}
              </td>
              <td>
                <progress max={Math.max(1, i.sizeBytes)} value={i.receivedBytes} aria-label={`${i.name} received`} /> {mib(i.receivedBytes)} / {mib(i.sizeBytes)} MiB
              </td>
              <td className="hash">{i.sha256}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
