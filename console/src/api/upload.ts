// An image upload (multipart, POST /api/v1/images/upload) with the browser's progress events:
// fetch() cannot report upload progress, XMLHttpRequest can. The token travels as for every
// other request; the answer's error is the API's.

import { currentToken } from './client';
import { ApiError, errorOf } from './errors';

export interface UploadForm {
  file: Blob;
  fileName: string;
  name: string;
  format: 'iso' | 'raw' | 'qcow2';
}

/** The multipart fields in the order the server needs them: the file part last. */
export function uploadFields(f: UploadForm): [string, string | Blob][] {
  const fields: [string, string | Blob][] = [];
  if (f.name.trim() !== '') fields.push(['name', f.name.trim()]);
  fields.push(['format', f.format]);
  fields.push(['sizeBytes', String(f.file.size)]);
  fields.push(['file', f.file]);
  return fields;
}

/** Bytes of the file sent, from the body's bytes sent of its total (0: unknown). */
export function fileBytesSent(loaded: number, bodyTotal: number, fileSize: number): number {
  if (bodyTotal <= 0) return Math.min(loaded, fileSize);
  return Math.min(fileSize, Math.round((loaded / bodyTotal) * fileSize));
}

export function uploadImage(f: UploadForm, onProgress: (sent: number, total: number) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [k, v] of uploadFields(f)) {
      if (typeof v === 'string') body.append(k, v);
      else body.append(k, v, f.fileName);
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/images/upload');
    const token = currentToken();
    if (token !== '') xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    // The events count the whole multipart body: shown as the file's bytes, scaled.
    xhr.upload.onprogress = (e) => onProgress(fileBytesSent(e.loaded, e.lengthComputable ? e.total : 0, f.file.size), f.file.size);
    xhr.onerror = () => reject(new ApiError(0, 'UNREACHABLE', 'the upload was cut off'));
    xhr.onload = () => {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(parsed);
      else reject(errorOf(xhr.status, parsed));
    };
    xhr.send(body);
  });
}
