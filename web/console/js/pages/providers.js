// Providers: the definitions (#/providers, create; #/providers/<id>, edit,
// delete), "Pull now", each provider's sync log (live by sync.finished
// messages), and a preview of the public Fever search (GET /search).

import { h, replace, timeEl, jsonText, badge, localInputToIso } from '../dom.js';
import { api, enc } from '../api.js';
import * as stream from '../stream.js';
import { pagedTable, simpleTable } from '../table.js';
import { alertBox, showError, statusLine, setStatus, withBusy, actionButton } from '../feedback.js';
import { field, textInput, selectEl, textArea, checkField, showFieldErrors, resetErrors, parseJsonField } from '../fields.js';
import { confirmDialog } from '../dialog.js';
import { remember, forget } from '../names.js';

const FORMATS = ['fever-xml', 'json', 'daisy'];
const OPTION_HINTS = {
  'fever-xml': 'fever-xml takes no options: leave {}.',
  json: 'json: id_field (default "id"), cursor_param, items_path.',
  daisy: 'daisy: form_id and token (the other Daisy\'s), both required.',
};

function syncResult(s) {
  if (s.error) return h('span', null, badge('failed', 'bad'), ` ${s.error}`);
  return h('span', null, badge('ok', 'ok'), ` HTTP ${s.http_status}: ${s.seen} seen, ${s.new} new, ${s.changed} changed, ${s.skipped} skipped`);
}

export function mount(root, route) {
  replace(root, h('h1', { text: 'Providers' }));
  return route.segments[0] ? mountProvider(root, route.segments[0]) : mountList(root);
}

function mountList(root) {
  const pageBox = alertBox();
  // Cells that sync.finished messages and pulls update in place (re-rendering
  // the row would drop a pull button's busy state).
  const cells = new Map(); // provider id -> {success, last}
  const latest = new Map(); // provider id -> its latest Sync
  const cellsOf = (p) => {
    if (!cells.has(p.id)) {
      const s = latest.get(p.id);
      cells.set(p.id, { success: h('span', null, timeEl(p.last_sync_at)), last: h('span', { class: 'inline-status' }, s ? syncResult(s) : null) });
    }
    return cells.get(p.id);
  };
  const showSync = (s) => {
    latest.set(s.provider_id, s);
    const c = cells.get(s.provider_id);
    if (!c) return;
    replace(c.last, syncResult(s));
    if (!s.error) replace(c.success, timeEl(new Date(Date.parse(s.started_at) + s.duration_ms).toISOString()));
  };
  const table = pagedTable({
    caption: 'Providers, oldest first',
    empty: 'No providers.',
    load: async (after) => {
      const page = await api.get('/v1/providers', { limit: 100, after });
      // Each provider's latest pull, for the "Latest pull" column.
      for (const p of page.items) {
        api.get(`/v1/providers/${enc(p.id)}/syncs`, { limit: 1 }).then((r) => {
          if (r.items[0] && !latest.has(p.id)) showSync(r.items[0]);
        }).catch(() => {});
      }
      return page;
    },
    columns: [
      { label: 'Name', header: true, render: (p) => h('a', { href: `#/providers/${p.id}`, text: p.name }) },
      { label: 'Format', render: (p) => p.format },
      { label: 'URL', cls: 'url-cell', render: (p) => h('span', { class: 'ellipsis', title: p.url, text: p.url }) },
      { label: 'Every', render: (p) => `${p.interval_s} s` },
      { label: 'Enabled', render: (p) => (p.enabled ? badge('enabled', 'ok') : badge('disabled', 'muted')) },
      { label: 'Last success', render: (p) => cellsOf(p).success },
      { label: 'Latest pull', cls: 'error-cell', render: (p) => cellsOf(p).last },
      { label: 'Pull', render: (p) => pullButton(p, pageBox, showSync, true) },
    ],
  });
  const create = providerForm(null, (p) => {
    remember('provider', p);
    table.upsert(p, { prepend: true });
  });
  const off = stream.subscribe(['sync.finished'], (msg) => {
    if (msg.type === 'gap') table.reload();
    else if (msg.data) showSync(msg.data);
  });
  root.append(
    h('p', { class: 'lede', text: 'Systems Daisy pulls data from: fever-xml plans (served by the public search), json items and another Daisy\'s responses.' }),
    h('details', { class: 'card' }, h('summary', { text: 'New provider' }), create.el),
    pageBox, table.el, searchPreview());
  table.reload();
  return { destroy: off };
}

// "Pull now": POST /v1/providers/{id}/sync, showing the pull's record. In a
// list the button says "Pull now" (named "Pull now: <name>"); on the
// provider's own page "Pull <name> now".
function pullButton(p, box, onDone, inList) {
  const out = h('span', { class: 'inline-status', role: 'status' });
  const btn = actionButton(inList ? 'Pull now' : `Pull ${p.name} now`, async () => {
    setStatus(out, 'Pulling…', true);
    try {
      const s = await api.post(`/v1/providers/${enc(p.id)}/sync`);
      setStatus(out, s.error ? 'Pull failed.' : 'Pulled.');
      onDone(s);
    } catch (e) {
      setStatus(out, '');
      throw e;
    }
  }, { box, busyLabel: 'Pulling…', cls: 'secondary small' });
  if (inList) btn.setAttribute('aria-label', `Pull now: ${p.name}`);
  return h('div', { class: 'inline' }, btn, out);
}

function providerForm(existing, onSaved) {
  const d = existing || { name: '', url: '', format: 'fever-xml', interval_s: 60, timeout_ms: 5000, timezone: 'UTC', enabled: true, headers: {}, options: {} };
  const box = alertBox();
  const name = textInput(d.name, { maxlength: 100 });
  const urlIn = textInput(d.url, { type: 'url', maxlength: 2048 });
  const format = selectEl(FORMATS, d.format);
  const interval = h('input', { type: 'number', min: 5, max: 86400, step: 1, value: d.interval_s });
  const timeout = h('input', { type: 'number', min: 100, max: 120000, step: 1, value: d.timeout_ms });
  const timezone = textInput(d.timezone);
  const enabled = checkField('Enabled (pulled on schedule)', d.enabled, { path: 'enabled' });
  const headers = textArea(jsonText(d.headers), { rows: 3, class: 'code' });
  const options = textArea(jsonText(d.options), { rows: 3, class: 'code' });
  const optHint = h('p', { class: 'hint', text: OPTION_HINTS[d.format] });
  format.addEventListener('change', () => {
    optHint.textContent = OPTION_HINTS[format.value];
  });
  const btn = h('button', { type: 'submit', text: existing ? 'Save provider' : 'Create provider' });
  const status = statusLine();
  const optField = field('Options (JSON)', options, { path: 'options' });
  optField.insertBefore(optHint, options.nextSibling);
  const form = h('form', { novalidate: true, class: 'provider-form' },
    h('div', { class: 'grid' },
      field('Name', name, { path: 'name', hint: 'Letters, digits, - _ . (unique).' }),
      field('URL', urlIn, { path: 'url', cls: 'wide' }),
      field('Format', format, { path: 'format' }),
      field('Interval (s)', interval, { path: 'interval_s' }),
      field('Timeout (ms)', timeout, { path: 'timeout_ms' }),
      field('Timezone', timezone, { path: 'timezone', hint: 'IANA name, e.g. Europe/Madrid (fever-xml dates).' })),
    enabled.el,
    field('Headers (JSON)', headers, { path: 'headers' }),
    optField,
    box, h('div', { class: 'actions' }, btn, status));
  const num = (v) => (v.trim() === '' ? undefined : Number(v));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    setStatus(status, '');
    try {
      const body = {
        name: name.value, url: urlIn.value, format: format.value, interval_s: num(interval.value), timeout_ms: num(timeout.value),
        timezone: timezone.value || undefined, enabled: enabled.box.checked,
        headers: parseJsonField(headers.value, 'headers') || {}, options: parseJsonField(options.value, 'options') || {},
      };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      const saved = await withBusy(btn, () => (existing ? api.patch(`/v1/providers/${enc(existing.id)}`, body) : api.post('/v1/providers', body)), 'Saving…');
      setStatus(status, existing ? 'Saved.' : `Provider "${saved.name}" created; its first pull starts now.`);
      onSaved(saved);
    } catch (e) {
      showFieldErrors(form, box, e);
    }
  });
  return { el: form };
}

function mountProvider(root, id) {
  const pageBox = alertBox();
  const body = h('div', null, statusLine('Loading…'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/providers', text: 'Providers' })), pageBox, body);
  let log = null;
  const off = stream.subscribe(['sync.finished'], (msg) => {
    if (!log) return;
    if (msg.type === 'gap') log.reload();
    else if (msg.data && msg.data.provider_id === id) log.upsert(msg.data, { prepend: true });
  });

  function draw(p) {
    const del = actionButton('Delete provider', async () => {
      await api.del(`/v1/providers/${enc(p.id)}`);
      forget('provider');
      location.hash = '#/providers';
    }, { box: pageBox, cls: 'danger', busyLabel: 'Deleting…',
      confirm: () => confirmDialog(`Delete the provider "${p.name}" with everything it brought (its plans, items and sync log)?`, 'Delete provider') });
    log = pagedTable({
      caption: 'Pulls, newest first',
      empty: 'No pulls yet.',
      load: (after) => api.get(`/v1/providers/${enc(p.id)}/syncs`, { limit: 50, after }),
      columns: [
        { label: 'Started', render: (s) => timeEl(s.started_at) },
        { label: 'Trigger', render: (s) => s.trigger },
        { label: 'Duration', render: (s) => `${s.duration_ms} ms` },
        { label: 'Result', cls: 'error-cell', render: syncResult },
      ],
    });
    const edit = providerForm(p, (saved) => {
      remember('provider', saved);
      draw(saved);
    });
    replace(body,
      h('h2', { text: p.name }),
      h('p', null, badge(p.format), ' ', p.enabled ? badge('enabled', 'ok') : badge('disabled', 'muted'), ` every ${p.interval_s} s, timeout ${p.timeout_ms} ms, timezone ${p.timezone} · last success `, timeEl(p.last_sync_at)),
      h('p', { class: 'url-cell', text: p.url }),
      h('div', { class: 'actions' }, pullButton(p, pageBox, (s) => log.upsert(s, { prepend: true })), del),
      h('details', { class: 'card' }, h('summary', { text: 'Edit definition' }), edit.el),
      h('section', { 'aria-labelledby': 'prov-log' }, h('h2', { id: 'prov-log', text: 'Sync log' }), log.el));
    log.reload();
  }
  api.get(`/v1/providers/${enc(id)}`).then(draw).catch((e) => {
    replace(body);
    showError(pageBox, e);
  });
  return { destroy: off };
}

// GET /search (public; Fever's shape) with a time window.
function searchPreview() {
  const box = alertBox();
  const starts = h('input', { type: 'datetime-local' });
  const ends = h('input', { type: 'datetime-local' });
  const btn = h('button', { type: 'submit', text: 'Search' });
  const status = statusLine();
  const out = h('div');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'search-h' },
    h('h2', { id: 'search-h', text: 'Search preview' }),
    h('p', { class: 'hint', text: 'What the public GET /search answers: plans that start at or after "Starts at" and end at or before "Ends at" (both optional).' }),
    h('div', { class: 'grid' }, field('Starts at', starts, { path: 'starts_at' }), field('Ends at', ends, { path: 'ends_at' })),
    box, h('div', { class: 'actions' }, btn, status), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    replace(out);
    try {
      const r = await withBusy(btn, () => api.get('/search', { starts_at: localInputToIso(starts.value), ends_at: localInputToIso(ends.value) }, { auth: false }), 'Searching…');
      const plans = r.data.events;
      setStatus(status, `${plans.length} plan${plans.length === 1 ? '' : 's'}.`);
      replace(out, simpleTable({
        caption: 'Matching plans, by start time (local times of each provider)',
        empty: 'No plan matches.',
        items: plans,
        columns: [
          { label: 'Title', render: (e) => e.title },
          { label: 'Starts', render: (e) => `${e.start_date} ${e.start_time}` },
          { label: 'Ends', render: (e) => `${e.end_date} ${e.end_time}` },
          { label: 'Min price', cls: 'num', render: (e) => String(e.min_price) },
          { label: 'Max price', cls: 'num', render: (e) => String(e.max_price) },
          { label: 'Id', render: (e) => h('code', { class: 'id', text: e.id }) },
        ],
      }));
    } catch (e) {
      setStatus(status, '');
      showFieldErrors(form, box, e);
    }
  });
  return form;
}
