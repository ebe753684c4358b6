// Small SVG charts drawn by hand. Each returns a <figure> whose SVG has
// role="img" and an aria-label that states the numbers in words.

import { h, svg, formatTime } from './dom.js';

const W = 360;
const H = 120;
const LEFT = 30;
const BOTTOM = 16;
const TOP = 6;

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return v;
}

function hhmm(ms) {
  return formatTime(new Date(ms)).slice(11, 16);
}

function axes(max, first, last) {
  return [
    svg('line', { x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM, class: 'axis' }),
    svg('line', { x1: LEFT, y1: H - BOTTOM, x2: W, y2: H - BOTTOM, class: 'axis' }),
    svg('text', { x: LEFT - 4, y: TOP + 8, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: LEFT - 4, y: H - BOTTOM, class: 'tick', 'text-anchor': 'end' }, '0'),
    svg('text', { x: LEFT, y: H - 3, class: 'tick' }, hhmm(first)),
    svg('text', { x: W, y: H - 3, class: 'tick', 'text-anchor': 'end' }, hhmm(last)),
  ];
}

function legend(series, totals) {
  if (series.length < 2) return null;
  return h('ul', { class: 'legend' }, series.map((s, i) => h('li', null,
    h('span', { class: ['swatch', s.cls], 'aria-hidden': 'true' }), `${s.name}: ${totals[i]}`)));
}

// Stacked bars, one per point. data: [{t (ms), [key]: number}],
// series: [{key, name, cls}]. `title` names the chart.
export function barChart({ title, data, series, unit = 'per minute' }) {
  const totals = series.map((s) => data.reduce((a, d) => a + (d[s.key] || 0), 0));
  const max = niceMax(Math.max(0, ...data.map((d) => series.reduce((a, s) => a + (d[s.key] || 0), 0))));
  const plotW = W - LEFT - 2;
  const plotH = H - BOTTOM - TOP;
  const slot = plotW / Math.max(1, data.length);
  const bars = [];
  data.forEach((d, i) => {
    let y = H - BOTTOM;
    for (const s of series) {
      const v = d[s.key] || 0;
      if (!v) continue;
      const bh = (v / max) * plotH;
      y -= bh;
      bars.push(svg('rect', { x: (LEFT + 1 + i * slot + slot * 0.12).toFixed(1), y: y.toFixed(1), width: (slot * 0.76).toFixed(1), height: Math.max(0.5, bh).toFixed(1), class: ['bar', s.cls].join(' ') },
        svg('title', null, `${hhmm(d.t)}: ${v} ${s.name.toLowerCase()}`)));
    }
  });
  const last = data[data.length - 1] || { t: Date.now() };
  const latest = series.map((s) => `${last[s.key] || 0} ${s.name.toLowerCase()}`).join(', ');
  const label = `${title}, ${unit}, last ${data.length} minutes: ${series.map((s, i) => `${totals[i]} ${s.name.toLowerCase()}`).join(', ')} in all; this minute ${latest}.`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' },
    axes(max, data[0]?.t || Date.now(), last.t), bars);
  return h('figure', { class: 'chart-card' },
    h('figcaption', null, h('span', { class: 'chart-title', text: title }), h('span', { class: 'chart-total', text: ` ${totals.reduce((a, b) => a + b, 0)} in ${data.length} min` })),
    chart, legend(series, totals));
}

// A line over samples [{t (ms), v}] (e.g. queue depth every few seconds).
export function lineChart({ title, samples, unit = '' }) {
  const vals = samples.map((s) => s.v);
  const max = niceMax(Math.max(0, ...vals));
  const t0 = samples[0]?.t || Date.now();
  const t1 = samples[samples.length - 1]?.t || t0 + 1;
  const span = Math.max(1, t1 - t0);
  const plotW = W - LEFT - 2;
  const plotH = H - BOTTOM - TOP;
  const pts = samples.map((s) => `${(LEFT + 1 + ((s.t - t0) / span) * plotW).toFixed(1)},${(H - BOTTOM - (s.v / max) * plotH).toFixed(1)}`);
  const now = vals.length ? vals[vals.length - 1] : 0;
  const label = `${title}: ${now}${unit} now; at most ${Math.max(0, ...vals)}${unit} over the ${samples.length} samples shown.`;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' },
    axes(max, t0, t1),
    pts.length > 1 ? svg('polyline', { points: pts.join(' '), class: 'line' }) : null,
    pts.length === 1 ? svg('circle', { cx: pts[0].split(',')[0], cy: pts[0].split(',')[1], r: 2.5, class: 'dot' }) : null);
  return h('figure', { class: 'chart-card' },
    h('figcaption', null, h('span', { class: 'chart-title', text: title }), h('span', { class: 'chart-total', text: ` ${now}${unit} now` })),
    chart);
}
