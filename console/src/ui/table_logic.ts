// Filtering and sorting of a resource list, as the lists' header and filter box do it. Pure.

export type Direction = 'asc' | 'desc';

export interface Sort<K extends string> {
  key: K;
  direction: Direction;
}

/** Rows whose text (any of `fields`) holds every word of `filter`, case-insensitively. */
export function filterRows<T>(rows: readonly T[], filter: string, fields: (row: T) => string[]): T[] {
  const words = filter.toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return [...rows];
  return rows.filter((r) => {
    const text = fields(r).join(' ').toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/** A stable sort by one column; numbers by value, text in the user's collation. */
export function sortRows<T, K extends string>(rows: readonly T[], sort: Sort<K>, value: (row: T, key: K) => string | number): T[] {
  const sign = sort.direction === 'asc' ? 1 : -1;
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => {
      const x = value(a.row, sort.key);
      const y = value(b.row, sort.key);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((e) => e.row);
}

/** The next sort after a click on `key`'s header: a new column ascends, the same one flips. */
export function nextSort<K extends string>(current: Sort<K>, key: K): Sort<K> {
  if (current.key !== key) return { key, direction: 'asc' };
  return { key, direction: current.direction === 'asc' ? 'desc' : 'asc' };
}
