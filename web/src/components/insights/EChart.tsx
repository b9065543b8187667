// One ECharts chart in a div: only the parts the insights use are registered (bar, line, heatmap; grid, tooltip,
// legend, visual map; the SVG renderer), so the bundle carries no more of ECharts than that. Colours follow the
// app's light or dark theme (the CSS variables of styles.css), and the chart redraws when the theme changes.
import { useEffect, useRef, useState } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, LineChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, SVGRenderer]);

export interface ThemeColors {
  text: string;
  muted: string;
  border: string;
  surface: string;
  dark: boolean;
}

function readTheme(): ThemeColors {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return { text: v('--text', '#1c2430'), muted: v('--muted', '#5b6675'), border: v('--border', '#dde2e8'), surface: v('--surface', '#ffffff'), dark: window.matchMedia('(prefers-color-scheme: dark)').matches };
}

/** The theme's colours, read again when the system switches between light and dark. */
export function useThemeColors(): ThemeColors {
  const [theme, setTheme] = useState(readTheme);
  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setTheme(readTheme());
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  return theme;
}

/** Axis, legend and tooltip styling shared by every chart. */
export function baseOption(t: ThemeColors): EChartsCoreOption {
  return {
    backgroundColor: 'transparent',
    // Live updates redraw often; growing bars each time would distract (and screenshots would catch them mid-way).
    animation: false,
    textStyle: { color: t.text, fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
    legend: { textStyle: { color: t.text }, top: 0 },
    tooltip: { backgroundColor: t.surface, borderColor: t.border, textStyle: { color: t.text } },
  };
}

export function axisStyle(t: ThemeColors) {
  return { axisLine: { lineStyle: { color: t.border } }, axisLabel: { color: t.muted }, splitLine: { lineStyle: { color: t.border } } };
}

export function EChart({ option, label, height = 320 }: { option: EChartsCoreOption; label: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, null, { renderer: 'svg' });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  // The label says what the chart shows; its numbers are in the CSV download beside it.
  return <div ref={el} className="insights-chart" role="img" aria-label={label} style={{ height }} />;
}
