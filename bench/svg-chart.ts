// A grouped bar chart as a standalone SVG document, written by hand (no dependency): one or more panels
// stacked vertically, each with its own y axis (ms), groups along x, one bar per series in each group,
// the value printed on every bar and an optional p95 whisker.

export interface BarValue {
  /** Height of the bar (the median, say). */
  readonly value: number;
  /** Drawn as a whisker above the bar when given (the p95, say). */
  readonly whisker?: number;
}

export interface ChartPanel {
  readonly title: string;
  /** Label of the x axis, e.g. "client region". */
  readonly xLabel: string;
  /** Label of the y axis, e.g. "latency, ms (median; whisker p95)". */
  readonly yLabel: string;
  /** Series names, in legend order; each group has one value per series (undefined: no bar). */
  readonly series: readonly string[];
  readonly groups: readonly { readonly label: string; readonly values: readonly (BarValue | undefined)[] }[];
}

export interface ChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly panels: readonly ChartPanel[];
  /** Width of the whole image in px. @default 900 */
  readonly width?: number;
  /** Height of one panel's plot area in px. @default 300 */
  readonly plotHeight?: number;
}

const palette = ['#2f6fb0', '#e08a2c', '#4a9b5b', '#b5475a', '#7d5ba6', '#6b6b6b'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
const px = (n: number) => Number(n.toFixed(1));

/** A "nice" step (1, 2 or 5 times a power of ten) giving about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  return (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
}

export function groupedBarChart({ title, subtitle, panels, width = 900, plotHeight = 300 }: ChartOptions): string {
  const margin = { left: 78, right: 24 };
  const headerHeight = subtitle ? 64 : 44;
  // Per panel: its title and legend above the plot, the x labels and axis title below.
  const panelTop = 56;
  const panelBottom = 62;
  const panelHeight = panelTop + plotHeight + panelBottom;
  const height = headerHeight + panels.length * panelHeight + 10;
  const plotWidth = width - margin.left - margin.right;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">${escape(title)}</text>`);
  if (subtitle) out.push(`<text x="${width / 2}" y="46" text-anchor="middle" font-size="12" fill="#555">${escape(subtitle)}</text>`);

  panels.forEach((panel, index) => {
    const top = headerHeight + index * panelHeight;
    const plotTop = top + panelTop;
    const plotBottom = plotTop + plotHeight;
    const highest = Math.max(1, ...panel.groups.flatMap((g) => g.values.flatMap((v) => (v ? [v.value, v.whisker ?? 0] : []))));
    const step = niceStep(highest, 6);
    const yMax = Math.ceil((highest * 1.08) / step) * step;
    const y = (value: number) => plotBottom - (value / yMax) * plotHeight;

    out.push(`<g>`);
    out.push(`<text x="${margin.left}" y="${top + 20}" font-size="14" font-weight="bold">${escape(panel.title)}</text>`);
    // Legend, on one line under the panel title.
    let legendX = margin.left;
    panel.series.forEach((name, s) => {
      out.push(`<rect x="${legendX}" y="${top + 31}" width="12" height="12" fill="${palette[s % palette.length]}"/>`);
      out.push(`<text x="${legendX + 17}" y="${top + 41}">${escape(name)}</text>`);
      legendX += 17 + name.length * 6.6 + 22;
    });
    if (panel.groups.some((g) => g.values.some((v) => v?.whisker !== undefined))) {
      out.push(`<line x1="${legendX + 6}" y1="${top + 31}" x2="${legendX + 6}" y2="${top + 43}" stroke="#222"/>`);
      out.push(`<line x1="${legendX + 2}" y1="${top + 31}" x2="${legendX + 10}" y2="${top + 31}" stroke="#222"/>`);
      out.push(`<text x="${legendX + 16}" y="${top + 41}">p95</text>`);
    }

    // Grid lines and y ticks.
    for (let tick = 0; tick <= yMax + step / 2; tick += step) {
      const ty = px(y(tick));
      out.push(`<line x1="${margin.left}" y1="${ty}" x2="${margin.left + plotWidth}" y2="${ty}" stroke="${tick === 0 ? '#222' : '#e2e2e2'}"/>`);
      out.push(`<text x="${margin.left - 8}" y="${ty + 4}" text-anchor="end" fill="#333">${step >= 1 ? tick.toFixed(0) : String(Number(tick.toPrecision(3)))}</text>`);
    }
    out.push(`<line x1="${margin.left}" y1="${plotTop}" x2="${margin.left}" y2="${plotBottom}" stroke="#222"/>`);
    const yLabelX = 20;
    const yLabelY = (plotTop + plotBottom) / 2;
    out.push(`<text x="${yLabelX}" y="${yLabelY}" text-anchor="middle" transform="rotate(-90 ${yLabelX} ${yLabelY})" fill="#333">${escape(panel.yLabel)}</text>`);

    // Bars.
    const groupWidth = plotWidth / panel.groups.length;
    const barWidth = Math.min(70, (groupWidth * 0.72) / panel.series.length);
    panel.groups.forEach((group, g) => {
      const center = margin.left + groupWidth * (g + 0.5);
      const start = center - (barWidth * panel.series.length) / 2;
      group.values.forEach((bar, s) => {
        if (!bar) return;
        const x = start + s * barWidth;
        const barTop = y(bar.value);
        out.push(`<rect x="${px(x + 2)}" y="${px(barTop)}" width="${px(barWidth - 4)}" height="${px(plotBottom - barTop)}" fill="${palette[s % palette.length]}"><title>${escape(`${group.label}, ${panel.series[s]}: ${fmt(bar.value)} ms`)}</title></rect>`);
        if (bar.whisker !== undefined && bar.whisker > bar.value) {
          const wx = px(x + barWidth / 2);
          out.push(`<line x1="${wx}" y1="${px(barTop)}" x2="${wx}" y2="${px(y(bar.whisker))}" stroke="#222"/>`);
          out.push(`<line x1="${px(wx - 5)}" y1="${px(y(bar.whisker))}" x2="${px(wx + 5)}" y2="${px(y(bar.whisker))}" stroke="#222"/>`);
        }
        // The value sits inside the top of a bar tall enough to hold it, else above the bar (and its whisker).
        const inside = plotBottom - barTop >= 20;
        const above = Math.min(barTop, bar.whisker !== undefined ? y(bar.whisker) : barTop) - 5;
        out.push(`<text x="${px(x + barWidth / 2)}" y="${px(inside ? barTop + 14 : above)}" text-anchor="middle" font-size="11" font-weight="bold" fill="${inside ? '#fff' : '#222'}">${fmt(bar.value)}</text>`);
      });
      out.push(`<text x="${px(center)}" y="${plotBottom + 18}" text-anchor="middle" fill="#222">${escape(group.label)}</text>`);
    });
    out.push(`<text x="${margin.left + plotWidth / 2}" y="${plotBottom + 44}" text-anchor="middle" fill="#333">${escape(panel.xLabel)}</text>`);
    out.push(`</g>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
