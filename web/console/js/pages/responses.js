// Responses: one form's responses (#/responses/<form id>) filtered by status
// and time received, kept live by response.created/updated messages; flagged
// ones show the messages of their failed rules. A response
// (#/responses/<form id>/<response id>) shows its revisions side by side and
// takes a correction. Exports (CSV, NDJSON, XLSX) are fetched with the token
// and saved through a Blob URL.

import { h, replace, timeEl, shortValue, jsonBlock, localInputToIso, srOnly, shortId } from '../dom.js';
import { api, enc, download, listAll } from '../api.js';
import * as stream from '../stream.js';
import { pagedTable } from '../table.js';
import { alertBox, showError, statusLine, setStatus, withBusy, actionButton, reportError } from '../feedback.js';
import { field, selectEl, showFieldErrors, resetErrors } from '../fields.js';
import { answerInputs } from '../answer-inputs.js';
import { submissionResult, statusBadge, failedChecks } from '../response-view.js';
import { refLink } from '../names.js';

export function mount(root, route) {
  const formId = route.segments[0] || '';
  const pageBox = alertBox();
  const picker = selectEl([['', 'Choose a form…']], '', { id: 'resp-form' });
  picker.addEventListener('change', () => {
    if (picker.value) location.hash = `#/responses/${picker.value}`;
  });
  // The picker shows once its options are there (a choice made before they
  // load would find none).
  const pickerSlot = h('div', { class: 'toolbar' }, statusLine('Loading the forms…'));
  replace(root, h('h1', { text: 'Responses' }), pageBox, pickerSlot);

  listAll('/v1/forms').then((forms) => {
    for (const f of forms) picker.appendChild(h('option', { value: f.id, text: `${f.title}${f.status === 'archived' ? ' (archived)' : ''}`, selected: f.id === formId }));
    replace(pickerSlot, field('Form', picker));
    if (!formId && forms.length === 0) pickerSlot.appendChild(h('p', null, 'No forms yet. ', h('a', { href: '#/forms/new', text: 'Create a form' }), '.'));
  }).catch((e) => {
    replace(pickerSlot);
    showError(pageBox, e);
  });

  if (!formId) {
    root.appendChild(h('p', { class: 'hint', text: 'Choose a form to see its responses.' }));
    return {};
  }

  let form = null;
  // The open response: its id, the revision drawn, the latest revision a
  // message announced, and the correction of it in flight (live updates wait
  // for it: it draws the detail itself). Each drawing of the detail takes a
  // number (drawSeq); a fetch that a later one overtook is dropped.
  let openId = null;
  let shownRev = 0;
  let latestRev = 0;
  let correcting = 0;
  let drawSeq = 0;
  const body = h('div');
  // The outcome of a correction, outside what is redrawn.
  const corrStatus = h('div', { 'aria-live': 'polite' });
  const detail = h('div', { id: 'response-detail' }, body, corrStatus);
  const filters = { status: '', since: '', until: '' };

  // Filters.
  const statusSel = selectEl([['', 'Any'], ['accepted', 'accepted'], ['flagged', 'flagged']], '');
  const since = h('input', { type: 'datetime-local' });
  const until = h('input', { type: 'datetime-local' });
  const applyBtn = h('button', { type: 'submit', text: 'Apply filters' });
  const clearBtn = h('button', { type: 'button', class: 'secondary', text: 'Clear filters' });
  const filterBox = alertBox();
  const filterForm = h('form', { class: 'filters', novalidate: true, 'aria-label': 'Filter responses' },
    field('Status', statusSel, { path: 'status' }),
    field('Received since', since, { path: 'since' }),
    field('Received before', until, { path: 'until' }),
    h('div', { class: 'actions' }, applyBtn, clearBtn), filterBox);

  // Exports.
  const exportBox = alertBox();
  const exportStatus = statusLine();
  const exportBtn = (label, format) => actionButton(label, async () => {
    setStatus(exportStatus, `Exporting ${format.toUpperCase()}…`, true);
    try {
      const r = await download(`/v1/forms/${enc(formId)}/responses/export`, { format }, `responses-${formId}.${format}`);
      setStatus(exportStatus, `Saved ${r.name} (${r.size} bytes).`);
    } catch (e) {
      setStatus(exportStatus, '');
      throw e;
    }
  }, { box: exportBox, cls: 'secondary', busyLabel: 'Exporting…' });
  const exportsEl = h('div', { class: 'exports', role: 'group', 'aria-label': 'Export all responses' },
    exportBtn('Export CSV', 'csv'), exportBtn('Export NDJSON', 'ndjson'), exportBtn('Export XLSX', 'xlsx'), exportStatus, exportBox);

  const table = pagedTable({
    caption: 'Responses in arrival order; new ones appear at the top',
    empty: 'No responses match.',
    load: (after) => api.get(`/v1/forms/${enc(formId)}/responses`, { limit: 50, after, ...filters }),
    rowClass: (r) => (r.status === 'flagged' ? 'flagged' : ''),
    columns: [
      { label: 'Received', render: (r) => timeEl(r.received_at) },
      { label: 'Status', render: (r) => {
        const failed = failedChecks(r.checks);
        return h('div', null, statusBadge(r.status), failed.length
          ? h('ul', { class: 'flags' }, failed.map((c) => h('li', null, h('code', { text: c.rule }), ': ', c.message || 'failed')))
          : null);
      } },
      { label: 'Rev.', render: (r) => String(r.revision) },
      { label: 'Version', render: (r) => String(r.form_version) },
      { label: 'App', render: (r) => refLink('app', r.app_id) },
      { label: 'Answers', cls: 'answers-cell', render: (r) => shortValue(Object.entries(r.answers).map(([k, v]) => `${k}: ${shortValue(v, 40)}`).join(' · '), 120) },
      { label: 'Open', render: (r) => h('a', { href: `#/responses/${formId}/${r.id}`, text: 'Open', 'aria-label': `Open response ${shortId(r.id)}` }) },
    ],
  });

  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    resetErrors(filterForm, filterBox);
    filters.status = statusSel.value;
    filters.since = localInputToIso(since.value);
    filters.until = localInputToIso(until.value);
    withBusy(applyBtn, () => table.reload(), 'Loading…');
  });
  clearBtn.addEventListener('click', () => {
    statusSel.value = '';
    since.value = '';
    until.value = '';
    filters.status = filters.since = filters.until = '';
    table.reload();
  });

  function matches(r) {
    if (filters.status && r.status !== filters.status) return false;
    const t = Date.parse(r.received_at);
    if (filters.since && t < Date.parse(filters.since)) return false;
    if (filters.until && t >= Date.parse(filters.until)) return false;
    return true;
  }

  const off = stream.subscribe(['response.created', 'response.updated'], (msg) => {
    if (msg.type === 'gap') {
      table.reload();
      return;
    }
    const r = msg.data;
    if (!r || r.form_id !== formId) return;
    if (msg.type === 'response.created') {
      if (matches(r)) table.upsert(r, { prepend: true });
    } else if (matches(r)) table.upsert(r, { prepend: false });
    else table.remove(r.id);
    if (openId !== r.id) return;
    latestRev = Math.max(latestRev, r.revision);
    if (!correcting && r.revision > shownRev) showDetail(r.id);
  });

  root.appendChild(h('section', { 'aria-labelledby': 'resp-list' },
    h('h2', { id: 'resp-list', text: 'Responses' }), filterForm, exportsEl, detail, table.el));

  api.get(`/v1/forms/${enc(formId)}`).then((f) => {
    form = f;
    document.getElementById('resp-list').textContent = `Responses to ${f.title}`;
    if (openId) showDetail(openId);
  }).catch((e) => showError(pageBox, e));
  table.reload();

  function draw(resp, revisions) {
    shownRev = resp.revision;
    replace(body, responseDetail(resp, revisions));
  }

  // Draws response `rid` (null: none); the one shown is redrawn in place.
  async function showDetail(rid) {
    const seq = ++drawSeq;
    if (rid !== openId) {
      openId = rid;
      shownRev = latestRev = 0;
      correcting = 0;
      replace(corrStatus);
      replace(body, rid ? h('section', { class: 'card' }, statusLine('Loading the response…')) : null);
    }
    if (!rid || !form) return;
    try {
      const [resp, revs] = await Promise.all([
        api.get(`/v1/forms/${enc(formId)}/responses/${enc(rid)}`),
        api.get(`/v1/forms/${enc(formId)}/responses/${enc(rid)}/revisions`),
      ]);
      if (seq === drawSeq) draw(resp, revs.items);
    } catch (e) {
      if (seq !== drawSeq) return;
      const box = alertBox();
      replace(body, h('section', { class: 'card' }, box));
      showError(box, e);
    }
  }

  function responseDetail(resp, revisions) {
    const close = h('a', { href: `#/responses/${formId}`, text: 'Close', class: 'button secondary' });
    const failed = failedChecks(resp.checks);
    const meta = h('dl', { class: 'kv' },
      h('div', null, h('dt', { text: 'Status' }), h('dd', null, statusBadge(resp.status))),
      h('div', null, h('dt', { text: 'Received' }), h('dd', null, timeEl(resp.received_at))),
      h('div', null, h('dt', { text: 'Submitted' }), h('dd', null, timeEl(resp.submitted_at))),
      h('div', null, h('dt', { text: 'Updated' }), h('dd', null, timeEl(resp.updated_at))),
      h('div', null, h('dt', { text: 'App' }), h('dd', null, refLink('app', resp.app_id))),
      h('div', null, h('dt', { text: 'Revision' }), h('dd', { text: String(resp.revision) })),
      h('div', null, h('dt', { text: 'Form version' }), h('dd', { text: String(resp.form_version) })),
      h('div', null, h('dt', { text: 'Jobs' }), h('dd', null, h('a', { href: `#/jobs?source_id=${resp.id}`, text: 'Jobs of this response' }))));
    return h('section', { class: 'card detail', 'aria-labelledby': 'resp-detail-h' },
      h('div', { class: 'card-head' }, h('h2', { id: 'resp-detail-h', text: `Response ${shortId(resp.id)}` }), close),
      h('p', null, h('code', { class: 'id', text: resp.id })),
      meta,
      failed.length ? h('div', { class: 'flag-box' }, h('h3', { text: 'Flagged by' }),
        h('ul', null, failed.map((c) => h('li', null, h('code', { text: c.rule }), ': ', c.message || 'failed')))) : null,
      Object.keys(resp.metadata || {}).length ? [h('h3', { text: 'Metadata' }), jsonBlock(resp.metadata)] : null,
      h('h3', { text: 'Revisions' }), revisionsTable(revisions),
      correctionForm(resp));
  }

  function revisionsTable(revisions) {
    const keys = form.questions.map((q) => q.key);
    for (const r of revisions) for (const k of Object.keys(r.answers)) if (!keys.includes(k)) keys.push(k);
    const label = (k) => form.questions.find((q) => q.key === k)?.label || k;
    return h('div', { class: 'table-wrap' }, h('table', { class: 'revisions' },
      h('caption', { text: 'Each revision\'s answers side by side, oldest first; changed answers are marked.' }),
      h('thead', null, h('tr', null, h('th', { scope: 'col', text: 'Question' }), revisions.map((r) => h('th', { scope: 'col' },
        `Revision ${r.revision}`, h('br'), timeEl(r.created_at), ' ', statusBadge(r.status))))),
      h('tbody', null,
        keys.map((k) => h('tr', null, h('th', { scope: 'row' }, label(k), label(k) !== k ? h('span', { class: 'muted' }, ` (${k})`) : null),
          revisions.map((r, i) => {
            const v = r.answers[k];
            const prev = i > 0 ? revisions[i - 1].answers[k] : v;
            const changed = i > 0 && JSON.stringify(prev) !== JSON.stringify(v);
            return h('td', { class: changed ? 'changed' : '' }, v === undefined ? h('span', { class: 'muted', text: '—' }) : shortValue(v, 200), changed ? srOnly(' (changed)') : null);
          }))),
        h('tr', null, h('th', { scope: 'row', text: 'Failed rules' }), revisions.map((r) => h('td', null,
          failedChecks(r.checks).map((c) => h('div', null, h('code', { text: c.rule }), ': ', c.message || ''))))),
        h('tr', null, h('th', { scope: 'row', text: 'Form version' }), revisions.map((r) => h('td', { text: String(r.form_version) }))))));
  }

  function correctionForm(resp) {
    if (form.status === 'archived') return h('p', { class: 'hint', text: 'The form is archived: its responses cannot be corrected.' });
    const inputs = answerInputs(form.questions, resp.answers);
    const box = alertBox();
    const btn = h('button', { type: 'submit', text: 'Submit correction' });
    const f = h('form', { class: 'correction', novalidate: true, 'aria-labelledby': 'corr-h' },
      h('h3', { id: 'corr-h', text: 'Correct the answers' }),
      h('p', { class: 'hint', text: 'The answers below replace the current ones as a new revision, checked against the current version of the form and its rules.' }),
      inputs.el, box, h('div', { class: 'actions' }, btn));
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      resetErrors(f, box);
      replace(corrStatus);
      const seq = ++drawSeq;
      correcting = seq;
      try {
        const r = await withBusy(btn, () => api.put(`/v1/forms/${enc(formId)}/responses/${enc(resp.id)}`, { answers: inputs.read() }), 'Submitting…');
        table.upsert(r);
        if (openId !== resp.id) return;
        const result = submissionResult(r, 'Correction stored');
        replace(corrStatus, result);
        const revs = await api.get(`/v1/forms/${enc(formId)}/responses/${enc(resp.id)}/revisions`);
        if (seq !== drawSeq) return;
        draw(r, revs.items);
        result.firstChild.tabIndex = -1;
        result.firstChild.focus();
      } catch (e) {
        if (f.isConnected) showFieldErrors(f, box, e);
        else reportError(e);
      } finally {
        if (correcting === seq) {
          correcting = 0;
          if (openId === resp.id && latestRev > shownRev) showDetail(resp.id);
        }
      }
    });
    return f;
  }

  showDetail(route.segments[1] || null);
  return {
    update(r) {
      if (r.page !== 'responses' || (r.segments[0] || '') !== formId) return false;
      showDetail(r.segments[1] || null);
      if (r.segments[1]) detail.scrollIntoView({ block: 'start' });
      return true;
    },
    destroy() {
      off();
    },
  };
}
