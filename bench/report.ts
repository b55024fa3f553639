/** One line of the results table: a figure, the same-run baseline it is judged against, a verdict. */
export interface Row {
  scenario: string;
  figure: string;
  /** Absolute, for information (noisy on a shared machine). */
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  pass: boolean | null;
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A latency in milliseconds: to a tenth below 10 ms (the gate's 3 ms), whole above. */
export function ms(value: number): string {
  return Number.isFinite(value) && value < 10 ? value.toFixed(1) : fmt(value, 0);
}

export function ratioText(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : 'n/a';
}

export function verdict(pass: boolean | null): string {
  return pass === null ? 'info' : pass ? 'PASS' : 'FAIL';
}

/** The table as aligned plain text (also valid-looking as a Markdown table). */
export function renderTable(rows: Row[]): string {
  const header = [
    'scenario',
    'figure',
    'measured',
    'baseline (same run)',
    'ratio',
    'target',
    'result',
  ];
  const cells = rows.map((r) => [
    r.scenario,
    r.figure,
    r.measured,
    r.baseline,
    r.ratio,
    r.target,
    verdict(r.pass),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}
