// Events: explore (#/events) by session, category, name, app and time, kept
// live by event.created messages; a session's timeline
// (#/events/session/<id>); rejections with their reasons
// (#/events/rejections, live by event.rejected); event types and their JSON
// Schemas (#/events/types, #/events/types/<category>/<name>, .../new).

import { h, replace, timeEl, shortValue, jsonText, localInputToIso, parseTime, badge, shortId } from '../dom.js';
import { api, enc, isAdmin, listAll } from '../api.js';
import * as stream from '../stream.js';
import { pagedTable } from '../table.js';
import { alertBox, showError, statusLine, setStatus, withBusy, hideError } from '../feedback.js';
import { field, textInput, selectEl, textArea, showFieldErrors, resetErrors, parseJsonField } from '../fields.js';
import { confirmDialog } from '../dialog.js';
import { refLink } from '../names.js';
import { renderSchema } from '../docs/schema.js';

const SECTIONS = [['', 'Explore'], ['rejections', 'Rejections'], ['types', 'Event types']];

function subNav(active) {
  return h('nav', { class: 'subnav', 'aria-label': 'Events sections' }, h('ul', null, SECTIONS.map(([k, label]) =>
    h('li', null, h('a', { href: k ? `#/events/${k}` : '#/events', text: label, 'aria-current': (active === k || (active === 'session' && k === '')) ? 'page' : undefined })))));
}

export function mount(root, route) {
  const section = route.segments[0] || '';
  replace(root, h('h1', { text: 'Events' }), subNav(section));
  if (section === 'session') return mountSession(root, route.segments[1] || '');
  if ((section === 'rejections' || section === 'types') && !isAdmin()) {
    root.appendChild(h('p', { class: 'flag-box', text: 'Rejections and event types need the admin token (the API answers an app token with 403).' }));
    return {};
  }
  if (section === 'rejections') return mountRejections(root);
  if (section === 'types') return mountTypes(root, route.segments.slice(1));
  return mountExplore(root, route.query);
}

// A JSON value folded into a <details>.
function dataCell(v) {
  return h('details', { class: 'data' }, h('summary', { text: shortValue(v, 60) || '{}' }), h('pre', { class: 'json', text: jsonText(v) }));
}

function appSelect(value) {
  const sel = selectEl([['', 'Any app']], value);
  listAll('/v1/apps').then((apps) => {
    for (const a of apps) sel.appendChild(h('option', { value: a.id, text: a.name, selected: a.id === value }));
  }).catch(() => {});
  return sel;
}

function mountExplore(root, query) {
  const admin = isAdmin();
  const f = {
    session_id: textInput(query.get('session_id') || '', { spellcheck: 'false' }),
    category: textInput(query.get('category') || ''),
    name: textInput(query.get('name') || ''),
    app_id: admin ? appSelect(query.get('app_id') || '') : null,
    since: h('input', { type: 'datetime-local' }),
    until: h('input', { type: 'datetime-local' }),
  };
  const filters = {};
  const box = alertBox();
  const searchBtn = h('button', { type: 'submit', text: 'Search' });
  const clearBtn = h('button', { type: 'button', class: 'secondary', text: 'Clear' });
  const form = h('form', { class: 'filters', novalidate: true, 'aria-label': 'Find events' },
    field('Session ID', f.session_id, { path: 'session_id' }),
    field('Category', f.category, { path: 'category' }),
    field('Name', f.name, { path: 'name' }),
    f.app_id ? field('App', f.app_id, { path: 'app_id' }) : null,
    field('Since', f.since, { path: 'since', hint: 'By the event\'s own timestamp.' }),
    field('Until', f.until, { path: 'until' }),
    h('div', { class: 'actions' }, searchBtn, clearBtn), box);

  function readFilters() {
    for (const k of ['session_id', 'category', 'name']) filters[k] = f[k].value.trim();
    filters.app_id = f.app_id ? f.app_id.value : '';
    filters.since = localInputToIso(f.since.value);
    filters.until = localInputToIso(f.until.value);
  }

  const table = pagedTable({
    caption: 'Events by timestamp; new ones appear at the top',
    empty: 'No events match.',
    load: (after) => api.get('/v1/events', { limit: 100, after, ...filters }),
    columns: [
      { label: 'Timestamp', render: (e) => timeEl(e.timestamp) },
      { label: 'Category', render: (e) => e.category },
      { label: 'Name', render: (e) => e.name },
      { label: 'Session', render: (e) => h('a', { href: `#/events/session/${e.session_id}`, title: e.session_id, text: shortId(e.session_id), 'aria-label': `Session ${e.session_id}` }) },
      { label: 'App', render: (e) => refLink('app', e.app_id) },
      { label: 'Data', render: (e) => dataCell(e.data) },
      { label: 'Received', render: (e) => timeEl(e.received_at) },
    ],
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    readFilters();
    withBusy(searchBtn, () => table.reload(), 'Searching…');
  });
  clearBtn.addEventListener('click', () => {
    for (const k of ['session_id', 'category', 'name', 'since', 'until']) f[k].value = '';
    if (f.app_id) f.app_id.value = '';
    readFilters();
    table.reload();
  });
  readFilters();

  function matches(e) {
    for (const k of ['session_id', 'category', 'name', 'app_id']) if (filters[k] && e[k] !== filters[k]) return false;
    const t = parseTime(e.timestamp).getTime();
    if (filters.since && t < Date.parse(filters.since)) return false;
    if (filters.until && t >= Date.parse(filters.until)) return false;
    return true;
  }
  const off = stream.subscribe(['event.created'], (msg) => {
    if (msg.type === 'gap') table.reload();
    else if (msg.data && matches(msg.data)) table.upsert(msg.data, { prepend: true });
  });
  root.append(form, table.el);
  table.reload();
  return { destroy: off };
}

function mountSession(root, sid) {
  const box = alertBox();
  const summary = h('div');
  const list = h('ol', { class: 'timeline' });
  const more = h('button', { type: 'button', class: 'secondary', text: 'Load more', hidden: true });
  const status = statusLine();
  const lookup = textInput(sid, { spellcheck: 'false' });
  const go = h('button', { type: 'submit', text: 'Show session' });
  const form = h('form', { class: 'filters', novalidate: true, 'aria-label': 'Show a session' }, field('Session ID', lookup), h('div', { class: 'actions' }, go));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (lookup.value.trim()) location.hash = `#/events/session/${encodeURIComponent(lookup.value.trim())}`;
  });
  root.append(form, h('h2', { text: sid ? `Session ${sid}` : 'Session' }), box, summary, h('div', { class: 'timeline-wrap' }, list), h('div', { class: 'table-foot' }, more, status));
  if (!sid) return {};

  let first = null;
  let cursor = null;
  let count = 0;
  const ids = new Set();
  function item(e) {
    const t = parseTime(e.timestamp).getTime();
    if (first === null) first = t;
    const offset = ((t - first) / 1000).toFixed(3);
    return h('li', null,
      h('div', { class: 'when' }, timeEl(e.timestamp), h('span', { class: 'muted', text: ` +${offset} s` })),
      h('div', { class: 'what' }, h('strong', { text: e.name }), ' ', h('span', { class: 'muted', text: e.category }), ' · ', refLink('app', e.app_id)),
      dataCell(e.data));
  }
  function add(events) {
    for (const e of events) {
      if (ids.has(e.id)) continue;
      ids.add(e.id);
      list.appendChild(item(e));
    }
  }
  async function load() {
    setStatus(status, 'Loading…', true);
    try {
      const s = await api.get(`/v1/sessions/${enc(sid)}`, { after: cursor || undefined });
      if (!cursor) {
        count = s.count;
        const span = (parseTime(s.last_timestamp) - parseTime(s.first_timestamp)) / 1000;
        replace(summary, h('dl', { class: 'kv' },
          h('div', null, h('dt', { text: 'Events' }), h('dd', { text: String(s.count) })),
          h('div', null, h('dt', { text: 'First' }), h('dd', null, timeEl(s.first_timestamp))),
          h('div', null, h('dt', { text: 'Last' }), h('dd', null, timeEl(s.last_timestamp))),
          h('div', null, h('dt', { text: 'Duration' }), h('dd', { text: `${span.toFixed(1)} s` }))));
      }
      add(s.events);
      cursor = s.next_cursor;
      more.hidden = !cursor;
      setStatus(status, `${ids.size} of ${count} events shown.`);
    } catch (e) {
      setStatus(status, '');
      showError(box, e);
    }
  }
  more.addEventListener('click', () => withBusy(more, load, 'Loading…'));
  load();
  const off = stream.subscribe(['event.created'], (msg) => {
    if (msg.type === 'gap' || !msg.data || msg.data.session_id !== sid) return;
    if (cursor) return; // not at the end yet: it comes with the next pages
    count += 1;
    add([msg.data]);
    list.lastChild?.classList.add('row-new');
    setStatus(status, `${ids.size} of ${count} events shown.`);
  });
  return { destroy: off };
}

function mountRejections(root) {
  const f = { app_id: appSelect(''), since: h('input', { type: 'datetime-local' }), until: h('input', { type: 'datetime-local' }) };
  const filters = {};
  const box = alertBox();
  const btn = h('button', { type: 'submit', text: 'Apply filters' });
  const form = h('form', { class: 'filters', novalidate: true, 'aria-label': 'Filter rejections' },
    field('App', f.app_id, { path: 'app_id' }), field('Received since', f.since, { path: 'since' }), field('Received before', f.until, { path: 'until' }),
    h('div', { class: 'actions' }, btn), box);
  const table = pagedTable({
    caption: 'Rejected events in arrival order; new ones appear at the top',
    empty: 'No rejected events.',
    key: (x) => `${x.received_at}|${x.app_id}|${x.payload.length}`,
    load: (after) => api.get('/v1/events/rejections', { limit: 50, after, ...filters }),
    columns: [
      { label: 'Received', render: (x) => timeEl(x.received_at) },
      { label: 'App', render: (x) => refLink('app', x.app_id) },
      { label: 'Reason', render: (x) => badge(x.reason, 'bad') },
      { label: 'Errors', render: (x) => h('ul', { class: 'flags' }, x.errors.map((e) => h('li', null, e.field ? [h('code', { text: e.field }), ': '] : null, e.message))) },
      { label: 'Payload', render: (x) => h('details', { class: 'data' }, h('summary', { text: `${shortValue(x.payload, 40)}${x.payload_truncated ? ' (cut at 4 KiB)' : ''}` }), h('pre', { class: 'json', text: x.payload })) },
    ],
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    filters.app_id = f.app_id.value;
    filters.since = localInputToIso(f.since.value);
    filters.until = localInputToIso(f.until.value);
    withBusy(btn, () => table.reload(), 'Loading…');
  });
  const off = stream.subscribe(['event.rejected'], (msg) => {
    if (msg.type === 'gap') {
      table.reload();
      return;
    }
    const x = msg.data;
    if (!x || (filters.app_id && x.app_id !== filters.app_id)) return;
    if (filters.until && Date.parse(filters.until) <= parseTime(x.received_at).getTime()) return;
    table.upsert(x, { prepend: true });
  });
  root.append(h('p', { class: 'lede', text: 'Events refused at ingest, with the reason (malformed, invalid, future_timestamp, schema, unknown_type), the errors and the payload as received.' }), form, table.el);
  table.reload();
  return { destroy: off };
}

function typePath(category, name) {
  return `/v1/event-types/${enc(category)}/${enc(name)}`;
}

function typeHref(t) {
  return `#/events/types/${encodeURIComponent(t.category)}/${encodeURIComponent(t.name)}`;
}

function mountTypes(root, segs) {
  if (segs[0] === 'new') return typeEditor(root, null);
  if (segs.length >= 2) return typeEditor(root, { category: segs[0], name: segs[1] });
  const table = pagedTable({
    caption: 'Event types by category, then name',
    empty: 'No event types: events of any type are accepted unchecked (unless their app rejects unknown types).',
    key: (t) => `${t.category}\u0000${t.name}`,
    load: (after) => api.get('/v1/event-types', { limit: 100, after }),
    columns: [
      { label: 'Category', render: (t) => t.category },
      { label: 'Name', header: true, render: (t) => h('a', { href: typeHref(t), text: t.name, 'aria-label': `${t.category} / ${t.name}` }) },
      { label: 'Required data', render: (t) => (t.schema.required || []).join(', ') },
      { label: 'Updated', render: (t) => timeEl(t.updated_at) },
    ],
  });
  root.append(h('p', { class: 'lede' }, 'The JSON Schema each type\'s event data must satisfy. ', h('a', { href: '#/events/types/new', class: 'button', text: 'New event type' })), table.el);
  table.reload();
  return {};
}

function typeEditor(root, key) {
  const box = alertBox();
  const pageBox = alertBox();
  const status = statusLine();
  const category = textInput(key ? key.category : '', { readonly: Boolean(key), maxlength: 128 });
  const name = textInput(key ? key.name : '', { readonly: Boolean(key), maxlength: 128 });
  const schema = textArea(key ? '' : jsonText({ type: 'object', required: [], properties: {} }), { rows: 16, class: 'code' });
  const view = h('div', { class: 'schema-view' });
  const saveBtn = h('button', { type: 'submit', text: 'Save schema' });
  const heading = h('h2', { text: key ? `${key.category} / ${key.name}` : 'New event type' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'et-h' },
    h('div', { class: 'grid' }, field('Category', category, { path: 'category' }), field('Name', name, { path: 'name' })),
    field('Schema (JSON)', schema, { path: 'schema', hint: 'JSON Schema draft 7 (no $ref). It applies to the next event received.' }),
    box);
  const actions = h('div', { class: 'actions' }, saveBtn);
  form.appendChild(actions);
  heading.id = 'et-h';
  let delBtn = null;
  if (key) {
    delBtn = h('button', { type: 'button', class: 'danger', text: 'Delete event type' });
    delBtn.addEventListener('click', async () => {
      hideError(pageBox);
      if (!(await confirmDialog(`Delete the event type "${key.category} / ${key.name}"? Its events become of an unknown type.`, 'Delete event type'))) return;
      try {
        await withBusy(delBtn, () => api.del(typePath(key.category, key.name)), 'Deleting…');
        location.hash = '#/events/types';
      } catch (e) {
        showError(pageBox, e);
      }
    });
    actions.appendChild(delBtn);
  }
  actions.appendChild(status);
  function drawView(s) {
    replace(view, h('h3', { text: 'What the schema asks for' }), renderSchema(s));
  }
  schema.addEventListener('input', () => {
    try {
      drawView(JSON.parse(schema.value));
    } catch {
      // keep the last good view while typing
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    setStatus(status, '');
    try {
      const errors = [];
      if (!category.value) errors.push({ field: 'category', message: 'is required: 1 to 128 characters' });
      if (!name.value) errors.push({ field: 'name', message: 'is required: 1 to 128 characters' });
      if (errors.length) throw Object.assign(new Error('missing'), { errors, detail: 'Name the event type.' });
      const s = parseJsonField(schema.value, 'schema', { allowEmpty: false });
      const saved = await withBusy(saveBtn, () => api.put(typePath(category.value, name.value), { schema: s }), 'Saving…');
      if (!key) {
        location.hash = typeHref(saved);
        return;
      }
      drawView(saved.schema);
      setStatus(status, 'Saved.');
    } catch (e) {
      showFieldErrors(form, box, e);
    }
  });
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/events/types', text: 'Event types' })), heading, pageBox, form, h('section', { class: 'card' }, view));
  if (key) {
    api.get(typePath(key.category, key.name)).then((t) => {
      schema.value = jsonText(t.schema);
      drawView(t.schema);
    }).catch((e) => showError(pageBox, e));
  } else drawView(JSON.parse(schema.value));
  return {};
}
