/** Plain-text and Markdown rendering of result tables. */

/** A table of strings; `align` gives each column's alignment (left when absent). */
export interface Table {
  headers: string[];
  rows: string[][];
  align?: ('left' | 'right')[];
}

/** Renders `table` with padded columns for a terminal. */
export function renderText(table: Table): string {
  const widths = table.headers.map((header, column) =>
    Math.max(header.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return table.align?.[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(table.headers), rule, ...table.rows.map(line)].join('\n');
}

/** Renders `table` as a GitHub-flavoured Markdown table. */
export function renderMarkdown(table: Table): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const separator = table.headers.map((_, column) => (table.align?.[column] === 'right' ? '---:' : '---'));
  return [table.headers, separator, ...table.rows].map((cells) => `| ${cells.map(escape).join(' | ')} |`).join('\n');
}

/** Formats a byte count as whole GiB, MiB or KiB where it divides evenly, else as bytes. */
export function formatBytes(bytes: number): string {
  const units: [number, string][] = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (bytes >= size && bytes % size === 0) {
      return `${bytes / size} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}
