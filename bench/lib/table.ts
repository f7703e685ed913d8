import type { EvaluatedFigure, Target } from './figures.ts';

/** Large numbers as whole numbers with thousands separators, small ones with two decimals at most. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return String(Math.round(value * 100) / 100);
}

const withUnit = (value: number, unit: string) =>
  unit === '%' ? `${formatNumber(value)} %` : `${formatNumber(value)} ${unit}`.trim();

export function formatTarget(target: Target | undefined, unit: string, ratioAtLeast?: number): string {
  const parts: string[] = [];
  if (target) parts.push(`${target.op === '>=' ? '≥' : '≤'} ${withUnit(target.value, unit)}`);
  if (ratioAtLeast !== undefined) parts.push(`≥ ${formatNumber(ratioAtLeast * 100)} % of raw`);
  return parts.join(', ') || '-';
}

function ratioCell(figure: EvaluatedFigure): string {
  if (!figure.baseline) return '';
  const raw = figure.baseline.of.split('/')[0];
  return figure.ratio === null ? `- (${raw} not run)` : `${formatNumber(figure.ratio * 100)} % of ${raw}`;
}

/** Left-aligned text columns, right-aligned value column, two spaces apart. */
export function alignColumns(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => [...(row[column] ?? '')].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => {
          const pad = ' '.repeat(widths[column]! - [...cell].length);
          return rightAligned.has(column) ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The table people read: one row a figure. */
export function formatTable(figures: readonly EvaluatedFigure[]): string {
  const rows = [
    ['scenario', 'figure', 'value', 'target', 'met', 'ratio to raw limit'],
    ...figures.map((figure) => [
      figure.scenario,
      figure.label,
      figure.value === null ? 'n/a' : withUnit(figure.value, figure.unit),
      formatTarget(figure.target, figure.unit, figure.baseline?.atLeast),
      figure.met === null ? '' : figure.met ? 'yes' : 'NO',
      ratioCell(figure),
    ]),
  ];
  return alignColumns(rows, new Set([2]));
}
