// Overview: per-minute charts of submissions, events, rejections and job
// outcomes (js/live-stats.js), the job queue from GET /metrics
// (daisy_jobs{status}, polled every 5 s while shown) and provider health
// (each provider's last pull, kept live by sync.finished messages).

import { h, replace, timeEl, badge, formatTime } from '../dom.js';
import { api, metrics, isAdmin, listAll, enc } from '../api.js';
import * as stream from '../stream.js';
import * as liveStats from '../live-stats.js';
import { barChart, lineChart } from '../charts.js';
import { alertBox, showError, hideError } from '../feedback.js';
import { simpleTable } from '../table.js';

const QUEUE_STATUSES = [['pending', 'Pending'], ['running', 'Running'], ['awaiting_callback', 'Awaiting callback'], ['failed', 'Failed, to retry']];
const queueSamples = []; // [{t, v}] kept across visits
const MAX_SAMPLES = 360;

export function mount(root) {
  const chartsEl = h('div', { class: 'charts' });
  const noteEl = h('p', { class: 'hint' });
  const queueEl = h('div', { class: 'queue' });
  const queueBox = alertBox();
  const providersEl = h('div');
  const providersBox = alertBox();
  const admin = isAdmin();

  replace(root,
    h('h1', { text: 'Overview' }),
    h('section', { 'aria-labelledby': 'ov-activity' },
      h('h2', { id: 'ov-activity', text: 'Activity per minute' }), chartsEl, noteEl),
    admin ? h('section', { 'aria-labelledby': 'ov-queue' },
      h('h2', { id: 'ov-queue', text: 'Job queue' }), queueBox, queueEl,
      h('p', null, h('a', { href: '#/jobs?status=failed', text: 'Failed jobs' }), ' · ', h('a', { href: '#/jobs?status=dead', text: 'Dead jobs' }), ' · ', h('a', { href: '#/jobs?status=pending', text: 'Pending jobs' }))) : null,
    admin ? h('section', { 'aria-labelledby': 'ov-providers' },
      h('h2', { id: 'ov-providers', text: 'Provider health' }), providersBox, providersEl) : null,
    admin ? null : h('p', { class: 'hint', text: 'Signed in with an app token: the charts count this app\'s submissions and events. The job queue and providers need the admin token.' }));

  function drawCharts() {
    const data = liveStats.series();
    replace(chartsEl,
      barChart({ title: 'Submissions', data, series: [{ key: 'submissions', name: 'Submissions', cls: 's1' }] }),
      barChart({ title: 'Events', data, series: [{ key: 'events', name: 'Events', cls: 's2' }] }),
      barChart({ title: 'Rejected events', data, series: [{ key: 'rejections', name: 'Rejections', cls: 's3' }] }),
      admin ? barChart({ title: 'Job outcomes', data, series: [
        { key: 'succeeded', name: 'Succeeded', cls: 'ok' }, { key: 'failed', name: 'Failed', cls: 'bad' }, { key: 'other', name: 'Other', cls: 's4' }] }) : null);
    const n = liveStats.note();
    noteEl.textContent = `${admin ? `Job outcomes are counted from ${formatTime(new Date(liveStats.since())).slice(11, 16)}, when this console started (no listing gives past attempts by time).` : 'Counted from the live stream since this console started, and the events listing.'}${n ? ` Note: ${n}.` : ''}`;
  }

  drawCharts();
  liveStats.seed();
  const offStats = liveStats.onChange(drawCharts);
  const tick = setInterval(drawCharts, 15000);

  // Job queue from /metrics.
  let queueTimer = null;
  async function pollQueue() {
    try {
      const m = await metrics();
      hideError(queueBox);
      const values = QUEUE_STATUSES.map(([k]) => m.get(`daisy_jobs{status="${k}"}`) || 0);
      const total = values.reduce((a, b) => a + b, 0);
      queueSamples.push({ t: Date.now(), v: total });
      if (queueSamples.length > MAX_SAMPLES) queueSamples.shift();
      const inFlight = m.get('daisy_jobs_in_flight') || 0;
      replace(queueEl,
        h('dl', { class: 'stats' }, QUEUE_STATUSES.map(([k, label], i) => h('div', null, h('dt', { text: label }),
          h('dd', null, h('a', { href: `#/jobs?status=${k}`, text: String(values[i]) })))),
        h('div', null, h('dt', { text: 'Deliveries under way' }), h('dd', { text: String(inFlight) }))),
        lineChart({ title: 'Queue depth (pending, running, awaiting callback, failed)', samples: queueSamples }));
    } catch (e) {
      showError(queueBox, e);
    }
  }
  if (admin) {
    pollQueue();
    queueTimer = setInterval(pollQueue, 5000);
  }

  // Provider health.
  const lastSync = new Map(); // provider id -> Sync
  let providers = [];
  function drawProviders() {
    replace(providersEl, simpleTable({
      caption: 'Each provider\'s latest pull',
      empty: 'No providers.',
      items: providers,
      columns: [
        { label: 'Provider', render: (p) => h('a', { href: `#/providers/${p.id}`, text: p.name }) },
        { label: 'Enabled', render: (p) => (p.enabled ? 'yes' : 'no') },
        { label: 'Health', render: (p) => {
          const s = lastSync.get(p.id);
          if (!s) return badge('not pulled yet', 'muted');
          return s.error ? badge('failing', 'bad') : badge('ok', 'ok');
        } },
        { label: 'Last pull', render: (p) => { const s = lastSync.get(p.id); return s ? timeEl(s.started_at) : '—'; } },
        { label: 'Last success', render: (p) => timeEl(p.last_sync_at) },
        { label: 'Result', render: (p) => {
          const s = lastSync.get(p.id);
          if (!s) return '';
          return s.error || `HTTP ${s.http_status}: ${s.seen} seen, ${s.new} new, ${s.changed} changed, ${s.skipped} skipped`;
        } },
      ],
    }));
  }
  async function loadProviders() {
    try {
      providers = await listAll('/v1/providers');
      await Promise.all(providers.slice(0, 100).map(async (p) => {
        const page = await api.get(`/v1/providers/${enc(p.id)}/syncs`, { limit: 1 });
        if (page.items[0]) lastSync.set(p.id, page.items[0]);
      }));
      hideError(providersBox);
      drawProviders();
    } catch (e) {
      showError(providersBox, e);
    }
  }
  let offSync = () => {};
  if (admin) {
    loadProviders();
    offSync = stream.subscribe(['sync.finished'], (msg) => {
      if (msg.type === 'gap') {
        loadProviders();
        return;
      }
      const s = msg.data;
      lastSync.set(s.provider_id, s);
      const p = providers.find((x) => x.id === s.provider_id);
      if (!p) {
        loadProviders();
        return;
      }
      if (!s.error) p.last_sync_at = new Date(Date.parse(s.started_at) + (s.duration_ms || 0)).toISOString();
      drawProviders();
    });
  }

  return {
    destroy() {
      offStats();
      offSync();
      clearInterval(tick);
      clearInterval(queueTimer);
    },
  };
}
