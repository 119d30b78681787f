import { describe, expect, it } from 'vitest';
import { fileBytesSent, uploadFields } from '../src/api/upload';
import { poolAllocated } from '../src/pages/storage';

describe('image upload', () => {
  it('sends the fields first and the file last, with its size', () => {
    const file = new Blob(['x'.repeat(1000)]);
    const f = uploadFields({ file, fileName: 'a.iso', name: ' boot ', format: 'iso' });
    expect(f.map(([k]) => k)).toEqual(['name', 'format', 'sizeBytes', 'file']);
    expect(f[0][1]).toBe('boot');
    expect(f[2][1]).toBe('1000');
    expect(uploadFields({ file, fileName: 'a.iso', name: '', format: 'raw' }).map(([k]) => k)).toEqual(['format', 'sizeBytes', 'file']);
  });
});

describe('upload progress', () => {
  it('counts the file, not the multipart framing around it', () => {
    expect(fileBytesSent(1200, 1200, 1000)).toBe(1000);
    expect(fileBytesSent(600, 1200, 1000)).toBe(500);
    expect(fileBytesSent(5000, 0, 1000)).toBe(1000);
  });
});

describe('pools', () => {
  it('sum what their volumes hold', () => {
    expect(poolAllocated({ id: 'p', name: 'p', volumes: { a: 1024, b: 2048 } })).toBe(3072);
    expect(poolAllocated({ id: 'p', name: 'p' })).toBe(0);
  });
});
