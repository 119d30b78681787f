// Which rows of a long list to render: only those in view plus a margin, so thousands of VMs
// scroll as smoothly as ten. Pure.

export interface Window {
  first: number;
  /** One past the last row to render. */
  last: number;
  /** The offset of the first rendered row from the top of the list, in pixels. */
  offset: number;
}

export function visibleRows(scrollTop: number, viewHeight: number, rowHeight: number, count: number, overscan = 8): Window {
  if (count <= 0 || rowHeight <= 0) return { first: 0, last: 0, offset: 0 };
  const top = Math.max(0, scrollTop);
  const first = Math.max(0, Math.min(count - 1, Math.floor(top / rowHeight) - overscan));
  const last = Math.min(count, Math.ceil((top + Math.max(0, viewHeight)) / rowHeight) + overscan);
  return { first, last: Math.max(first, last), offset: first * rowHeight };
}
