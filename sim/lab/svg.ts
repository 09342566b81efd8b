// A small pure SVG line plot (no dependencies): axes, ticks, a legend, one polyline per
// series. Used for the lab's P(consistent)-vs-t plot and the notebooks' charts; the same input
// gives the same bytes (golden-testable). Display in notebooks as HTML.
export interface Series {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
}

interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Draw bars (one per point of each series, side by side) instead of lines. */
  readonly bars?: boolean;
  /** Bar charts: a label under each slot (instead of x ticks). */
  readonly categories?: readonly string[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function num(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

/** Up to ~6 round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

export function linePlot(series: readonly Series[], opts: PlotOptions): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const left = 60, right = 170, top = 30, bottom = 45;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, xMin + 1);
  const yMin = opts.yMin ?? Math.min(...ys, 0);
  const yMax = opts.yMax ?? Math.max(...ys, yMin + 1);
  const pw = width - left - right;
  const ph = height - top - bottom;
  const X = (x: number): number => left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number): number => top + ph - ((y - yMin) / (yMax - yMin)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="13">${esc(opts.title)}</text>`);
  const slots = Math.max(1, ...series.map((s) => s.points.length));
  if (opts.bars === true) {
    (opts.categories ?? []).forEach((c, j) => {
      parts.push(`<text x="${num(left + (j + 0.5) * (pw / slots))}" y="${top + ph + 14}" text-anchor="middle">${esc(c)}</text>`);
    });
  } else for (const t of ticks(xMin, xMax)) {
    parts.push(`<line x1="${num(X(t))}" y1="${top}" x2="${num(X(t))}" y2="${top + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${num(X(t))}" y="${top + ph + 14}" text-anchor="middle">${num(t)}</text>`);
  }
  for (const t of ticks(yMin, yMax)) {
    parts.push(`<line x1="${left}" y1="${num(Y(t))}" x2="${left + pw}" y2="${num(Y(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 5}" y="${num(Y(t) + 4)}" text-anchor="end">${num(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${left + pw / 2}" y="${height - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="14" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + ph / 2})">${esc(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    if (opts.bars === true) {
      const slot = pw / slots;
      const bw = (slot * 0.8) / series.length;
      for (const [j, [, y]] of s.points.entries()) {
        const x0 = left + j * slot + slot * 0.1 + i * bw;
        parts.push(`<rect x="${num(x0)}" y="${num(Y(Math.max(y, yMin)))}" width="${num(bw)}" height="${num(Y(yMin) - Y(Math.max(y, yMin)))}" fill="${color}"/>`);
      }
    } else {
      const pts = s.points.map(([x, y]) => `${num(X(x))},${num(Y(y))}`).join(" ");
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    }
    const ly = top + 10 + i * 16;
    parts.push(`<rect x="${left + pw + 10}" y="${ly - 8}" width="12" height="10" fill="${color}"/>`);
    parts.push(`<text x="${left + pw + 26}" y="${ly + 1}">${esc(s.label)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}
