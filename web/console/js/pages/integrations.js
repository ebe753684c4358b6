// Integrations and their jobs: the definitions (#/integrations; secrets are
// never shown by the API, a new one only once after creation or rotation),
// one integration (#/integrations/<id>: edit, enable/disable, rotate the
// secret, replay a period, test its code, delete, its jobs), the jobs by
// status (#/jobs?status=) and one job with its attempts log (#/jobs/<id>:
// retry, cancel). Job rows follow job.updated messages.

import { h, replace, timeEl, jsonBlock, jsonText, badge, localInputToIso, shortId } from '../dom.js';
import { api, enc, listAll } from '../api.js';
import * as stream from '../stream.js';
import { pagedTable, simpleTable } from '../table.js';
import { alertBox, showError, hideError, statusLine, setStatus, withBusy, actionButton } from '../feedback.js';
import { field, textInput, selectEl, textArea, checkField, checkboxGroup, showFieldErrors, resetErrors, parseJsonField } from '../fields.js';
import { confirmDialog } from '../dialog.js';
import { refLink, remember, forget, loadAll } from '../names.js';
import { secretPanel } from './apps.js';
import { statusBadge } from '../response-view.js';
import { jobsTable, jobActions, sourceLink, JOB_STATUSES } from '../jobs-table.js';

const TYPES = ['webhook', 'redis', 'sheets', 'script', 'sms'];
const TRIGGERS = ['response.created', 'response.updated', 'event.created'];
const CONFIG_TEMPLATES = {
  webhook: { url: 'https://example.com/hooks/daisy', headers: {}, timeout_ms: 15000 },
  redis: { url: 'redis://redis.example.com:6379', channel: 'daisy-jobs', callback_timeout_s: 600 },
  sheets: { spreadsheet_id: '', sheet: 'Responses', service_account: {} },
  script: { code: 'function run(record, ctx)\n  return nil\nend' },
  sms: { provider: 'twilio', account_sid: '', auth_token: '', from: '', to: '{{answers.phone}}', body: 'Thanks, receipt {{response.id}}' },
};

function subNav(active) {
  return h('nav', { class: 'subnav', 'aria-label': 'Integrations sections' }, h('ul', null,
    h('li', null, h('a', { href: '#/integrations', text: 'Integrations', 'aria-current': active === 'integrations' ? 'page' : undefined })),
    h('li', null, h('a', { href: '#/jobs', text: 'Jobs', 'aria-current': active === 'jobs' ? 'page' : undefined }))));
}

export function mount(root, route) {
  const isJobs = route.page === 'jobs';
  replace(root, h('h1', { text: isJobs ? 'Jobs' : 'Integrations' }), subNav(isJobs ? 'jobs' : 'integrations'));
  if (isJobs) return route.segments[0] ? mountJob(root, route.segments[0]) : mountJobs(root, route.query);
  return route.segments[0] ? mountIntegration(root, route.segments[0]) : mountList(root, route.query);
}

function sourceOf(i) {
  return i.source.form_id ? refLink('form', i.source.form_id) : refLink('app', i.source.app_id);
}

function mountList(root, query) {
  const formFilter = query.get('form') || '';
  const table = pagedTable({
    caption: formFilter ? 'Integrations of one form' : 'Integrations, oldest first',
    empty: 'No integrations.',
    load: async (after) => {
      const page = await api.get('/v1/integrations', { limit: 100, after });
      for (const i of page.items) remember('integration', i);
      return formFilter ? { ...page, items: page.items.filter((i) => i.source.form_id === formFilter) } : page;
    },
    columns: [
      { label: 'Name', header: true, render: (i) => h('a', { href: `#/integrations/${i.id}`, text: i.name }) },
      { label: 'Type', render: (i) => i.type },
      { label: 'Mode', render: (i) => i.mode },
      { label: 'Source', render: sourceOf },
      { label: 'Triggers', render: (i) => i.on.join(', ') },
      { label: 'Enabled', render: (i) => (i.enabled ? badge('enabled', 'ok') : h('span', null, badge('disabled', 'muted'), i.disabled_reason ? h('div', { class: 'hint', text: i.disabled_reason }) : null)) },
      { label: 'Created', render: (i) => timeEl(i.created_at) },
    ],
  });
  const secretSlot = h('div', { 'aria-live': 'polite' });
  const create = integrationForm(null, (created) => {
    remember('integration', created);
    table.upsert(created, { prepend: true });
    replace(secretSlot, created.secret
      ? secretPanel(`Signing secret of ${created.name}`, created.secret, `Integration "${created.name}" created. Its signing secret is shown only now: keep it to check the webhook-signature of the requests.`)
      : statusLine(`Integration "${created.name}" created.`));
  });
  root.append(
    h('p', { class: 'lede' }, 'What Daisy does after a response or an event lands. ', formFilter ? h('a', { href: '#/integrations', text: 'Show all integrations' }) : null),
    secretSlot,
    h('details', { class: 'card' }, h('summary', { text: 'New integration' }), create.el),
    table.el);
  table.reload();
  return {};
}

// The create/edit form. `onSaved(integration)` after a successful save.
function integrationForm(existing, onSaved) {
  const box = alertBox();
  const name = textInput(existing?.name || '', { maxlength: 200 });
  const source = selectEl([['', 'Choose a form or an app…']], '', { disabled: Boolean(existing) });
  const type = selectEl(TYPES, existing?.type || 'webhook', { disabled: Boolean(existing) });
  const mode = selectEl([['async', 'async (a job per record)'], ['sync', 'sync (called within the request)']], existing?.mode || 'async');
  const triggers = checkboxGroup('Triggers', TRIGGERS, existing?.on || [], { path: 'on' });
  const config = textArea(jsonText(existing ? existing.config : CONFIG_TEMPLATES.webhook), { rows: 8, class: 'code' });
  const retry = textInput(existing ? existing.retry.schedule_s.join(', ') : '', { placeholder: '0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200' });
  const enabled = checkField('Enabled', existing ? existing.enabled : true, { path: 'enabled' });
  const btn = h('button', { type: 'submit', text: existing ? 'Save integration' : 'Create integration' });
  const status = statusLine();
  const sourceValue = existing ? (existing.source.form_id ? `form:${existing.source.form_id}` : `app:${existing.source.app_id}`) : '';
  if (existing) source.appendChild(h('option', { value: sourceValue, text: existing.source.form_id ? 'form' : 'app', selected: true }));
  Promise.all([loadAll('form'), loadAll('app')]).then(([forms, apps]) => {
    if (existing) source.lastChild.remove();
    const fg = h('optgroup', { label: 'Forms (their responses)' }, [...forms.values()].map((f) => h('option', { value: `form:${f.id}`, text: f.title, selected: sourceValue === `form:${f.id}` })));
    const ag = h('optgroup', { label: 'Apps (their events)' }, [...apps.values()].map((a) => h('option', { value: `app:${a.id}`, text: a.name, selected: sourceValue === `app:${a.id}` })));
    source.append(fg, ag);
  });
  if (!existing) {
    type.addEventListener('change', () => {
      config.value = jsonText(CONFIG_TEMPLATES[type.value]);
    });
  }
  const form = h('form', { class: 'integration-form', novalidate: true },
    h('div', { class: 'grid' },
      field('Name', name, { path: 'name' }),
      field('Source', source, { path: 'source', hint: existing ? 'The source and type cannot change: create another integration.' : 'Without triggers, a form runs on response.created, an app on event.created.' }),
      field('Type', type, { path: 'type' }),
      field('Mode', mode, { path: 'mode' })),
    triggers.el,
    field('Config (JSON)', config, { path: 'config', hint: existing ? 'Replaces the whole config. Secrets the API hides (shown as ***) must be given again.' : 'The settings of the type; see the API reference for each type\'s fields.' }),
    field('Retry schedule (seconds, comma-separated)', retry, { path: 'retry.schedule_s', hint: 'Empty: Daisy\'s default schedule.' }),
    enabled.el, box, h('div', { class: 'actions' }, btn, status));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    setStatus(status, '');
    try {
      const body = { name: name.value };
      if (!existing) {
        const [kind, id] = source.value.split(':');
        if (!id) throw Object.assign(new Error('source'), { detail: 'Choose the form or app the integration is attached to.', errors: [{ field: 'source', message: 'is required' }] });
        body.source = kind === 'form' ? { form_id: id } : { app_id: id };
        body.type = type.value;
      }
      body.mode = mode.value;
      const on = triggers.values();
      if (on.length || existing) body.on = on;
      body.config = parseJsonField(config.value, 'config', { allowEmpty: false });
      const sched = retry.value.split(/[\s,]+/).filter(Boolean);
      if (sched.length) body.retry = { schedule_s: sched.map((s) => (/^\d+$/.test(s) ? Number(s) : s)) };
      body.enabled = enabled.box.checked;
      const saved = await withBusy(btn, () => (existing ? api.patch(`/v1/integrations/${enc(existing.id)}`, body) : api.post('/v1/integrations', body)), 'Saving…');
      setStatus(status, 'Saved.');
      onSaved(saved);
    } catch (e) {
      showFieldErrors(form, box, e);
    }
  });
  return { el: form };
}

function mountIntegration(root, id) {
  const pageBox = alertBox();
  const body = h('div', null, statusLine('Loading…'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/integrations', text: 'Integrations' })), pageBox, body);
  let jobs = null;
  let integ = null;

  function draw() {
    const i = integ;
    const secretSlot = h('div', { 'aria-live': 'polite' });
    const toggle = actionButton(i.enabled ? 'Disable' : 'Enable', async () => {
      integ = await api.patch(`/v1/integrations/${enc(i.id)}`, { enabled: !i.enabled });
      draw();
    }, { box: pageBox, cls: 'secondary' });
    const rotate = i.type === 'webhook' ? actionButton('Rotate secret', async () => {
      const r = await api.post(`/v1/integrations/${enc(i.id)}/secret`);
      replace(secretSlot, secretPanel(`New signing secret of ${i.name}`, r.secret, 'Shown only now. The previous secret signs beside it until it expires.'));
    }, { box: pageBox, cls: 'secondary', busyLabel: 'Rotating…',
      confirm: () => confirmDialog('Issue a new signing secret? The previous one keeps signing beside it for 24 hours.', 'Rotate secret', { danger: false }) }) : null;
    const del = actionButton('Delete integration', async () => {
      await api.del(`/v1/integrations/${enc(i.id)}`);
      forget('integration');
      location.hash = '#/integrations';
    }, { box: pageBox, cls: 'danger', busyLabel: 'Deleting…',
      confirm: () => confirmDialog(`Delete the integration "${i.name}"? Its jobs that have not ended are cancelled; all its jobs stay readable.`, 'Delete integration') });

    const edit = integrationForm(i, (saved) => {
      integ = saved;
      remember('integration', saved);
      draw();
    });

    // Replay.
    const rBox = alertBox();
    const since = h('input', { type: 'datetime-local' });
    const until = h('input', { type: 'datetime-local' });
    const rBtn = h('button', { type: 'submit', text: 'Replay' });
    const rStatus = statusLine();
    const replay = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'int-replay' },
      h('h2', { id: 'int-replay', text: 'Replay a period' }),
      h('p', { class: 'hint', text: i.source.form_id ? 'Makes a new job for each response received in the period.' : 'Makes a new job for each event whose timestamp is in the period.' }),
      h('div', { class: 'grid' }, field('Since', since, { path: 'since' }), field('Until', until, { path: 'until' })),
      rBox, h('div', { class: 'actions' }, rBtn, rStatus));
    replay.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      resetErrors(replay, rBox);
      setStatus(rStatus, 'Writing the jobs…', true);
      try {
        const r = await withBusy(rBtn, () => api.post(`/v1/integrations/${enc(i.id)}/replay`, { since: localInputToIso(since.value), until: localInputToIso(until.value) }), 'Replaying…');
        setStatus(rStatus, `Made ${r.jobs} job${r.jobs === 1 ? '' : 's'}.`);
        if (jobs) jobs.reload();
      } catch (e) {
        setStatus(rStatus, '');
        showFieldErrors(replay, rBox, e);
      }
    });

    // Test the code (scripts and transforms).
    let test = null;
    if (i.type === 'script' || i.config.transform) {
      const tBox = alertBox();
      const record = textArea('{\n  "answers": {}\n}', { rows: 5, class: 'code' });
      const tBtn = h('button', { type: 'submit', text: 'Run test' });
      const out = h('div', { 'aria-live': 'polite' });
      test = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'int-test' },
        h('h2', { id: 'int-test', text: 'Test the code' }),
        field('Sample record (JSON)', record, { path: 'record' }), tBox, h('div', { class: 'actions' }, tBtn), out);
      test.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        resetErrors(test, tBox);
        try {
          const rec = parseJsonField(record.value, 'record', { allowEmpty: false });
          const r = await withBusy(tBtn, () => api.post(`/v1/integrations/${enc(i.id)}/test`, { record: rec }), 'Running…');
          replace(out, h('p', null, r.ok ? badge('ok', 'ok') : badge('failed', 'bad'), r.error ? ` ${r.error}` : ''),
            h('h3', { text: 'Output' }), jsonBlock(r.output), r.logs.length ? [h('h3', { text: 'Log' }), h('pre', { class: 'code', text: r.logs.join('\n') })] : null,
            h('p', { class: 'hint', text: `Cost: ${jsonText(r.cost, 0)}` }));
        } catch (e) {
          showFieldErrors(test, tBox, e);
        }
      });
    }

    if (jobs) jobs.destroy();
    const jobsBox = alertBox();
    const statusSel = selectEl([['', 'Any status'], ...JOB_STATUSES.map((s) => [s, s])], '');
    const jobFilters = { integration_id: i.id, status: '' };
    jobs = jobsTable(jobFilters, { box: jobsBox, showIntegration: false });
    statusSel.addEventListener('change', () => {
      jobFilters.status = statusSel.value;
      jobs.reload();
    });

    replace(body,
      h('h2', { text: i.name }),
      h('p', null, badge(i.type), ' ', badge(i.mode), ' ', i.enabled ? badge('enabled', 'ok') : badge('disabled', 'muted'), ' · source ', sourceOf(i),
        ' · on ', i.on.join(', '), ' · created ', timeEl(i.created_at), ' · updated ', timeEl(i.updated_at)),
      i.disabled_reason ? h('p', { class: 'flag-box', text: `Disabled by Daisy: ${i.disabled_reason}` }) : null,
      i.last_error ? h('p', { class: 'flag-box', text: `Last error: ${i.last_error}` }) : null,
      i.previous_secret_expires_at ? h('p', null, 'The previous secret signs until ', timeEl(i.previous_secret_expires_at), '.') : null,
      h('div', { class: 'actions' }, toggle, rotate, del),
      secretSlot,
      h('section', { class: 'card', 'aria-labelledby': 'int-def' }, h('h2', { id: 'int-def', text: 'Definition' }),
        h('h3', { text: 'Config' }), jsonBlock(i.config), h('p', null, `Retry schedule (s): ${i.retry.schedule_s.join(', ')}`)),
      h('details', { class: 'card' }, h('summary', { text: 'Edit definition' }), edit.el),
      replay, test,
      h('section', { 'aria-labelledby': 'int-jobs' }, h('h2', { id: 'int-jobs', text: 'Jobs of this integration' }),
        field('Job status', statusSel), jobsBox, jobs.el));
    jobs.reload();
  }

  api.get(`/v1/integrations/${enc(id)}`).then((i) => {
    integ = i;
    remember('integration', i);
    draw();
  }).catch((e) => {
    replace(body);
    showError(pageBox, e);
  });
  return { destroy: () => jobs && jobs.destroy() };
}

function mountJobs(root, query) {
  const filters = { status: query.get('status') || '', integration_id: query.get('integration_id') || '', source_id: query.get('source_id') || '' };
  const box = alertBox();
  const statusSel = selectEl([['', 'Any status'], ...JOB_STATUSES.map((s) => [s, s])], filters.status);
  const integSel = selectEl([['', 'Any integration']], filters.integration_id);
  listAll('/v1/integrations').then((items) => {
    for (const i of items) integSel.appendChild(h('option', { value: i.id, text: i.name, selected: i.id === filters.integration_id }));
  }).catch(() => {});
  const sourceIn = textInput(filters.source_id, { spellcheck: 'false' });
  const btn = h('button', { type: 'submit', text: 'Apply filters' });
  const form = h('form', { class: 'filters', novalidate: true, 'aria-label': 'Filter jobs' },
    field('Status', statusSel, { path: 'status' }), field('Integration', integSel, { path: 'integration_id' }),
    field('Source id (response or event)', sourceIn, { path: 'source_id' }),
    h('div', { class: 'actions' }, btn));
  let jobs = jobsTable(filters, { box });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    const q = new URLSearchParams();
    if (statusSel.value) q.set('status', statusSel.value);
    if (integSel.value) q.set('integration_id', integSel.value);
    if (sourceIn.value.trim()) q.set('source_id', sourceIn.value.trim());
    history.replaceState(null, '', `#/jobs${q.toString() ? `?${q}` : ''}`);
    Object.assign(filters, { status: statusSel.value, integration_id: integSel.value, source_id: sourceIn.value.trim() });
    withBusy(btn, () => jobs.reload(), 'Loading…');
  });
  root.append(h('p', { class: 'lede', text: 'Every delivery of a record to an integration. Failed, dead and cancelled jobs can be retried; pending, running and failed ones cancelled.' }), form, box, jobs.el);
  jobs.reload();
  return { destroy: () => jobs.destroy() };
}

function mountJob(root, id) {
  const box = alertBox();
  const body = h('div', null, statusLine('Loading…'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/jobs', text: 'Jobs' })), box, body);
  let job = null;
  async function load() {
    try {
      job = await api.get(`/v1/jobs/${enc(id)}`);
      draw();
    } catch (e) {
      showError(box, e);
    }
  }
  function draw() {
    const j = job;
    replace(body,
      h('h2', null, `Job ${shortId(j.id)} `, statusBadge(j.status)),
      h('dl', { class: 'kv' },
        h('div', null, h('dt', { text: 'Id' }), h('dd', null, h('code', { class: 'id', text: j.id }))),
        h('div', null, h('dt', { text: 'Integration' }), h('dd', null, refLink('integration', j.integration_id))),
        h('div', null, h('dt', { text: 'Trigger' }), h('dd', { text: j.type })),
        h('div', null, h('dt', { text: 'Source' }), h('dd', null, sourceLink(j))),
        h('div', null, h('dt', { text: 'Attempts' }), h('dd', { text: String(j.attempts) })),
        h('div', null, h('dt', { text: 'Next attempt' }), h('dd', null, timeEl(j.next_attempt_at))),
        h('div', null, h('dt', { text: 'Created' }), h('dd', null, timeEl(j.created_at))),
        h('div', null, h('dt', { text: 'Updated' }), h('dd', null, timeEl(j.updated_at)))),
      j.last_error ? h('p', { class: 'flag-box', text: `Last error: ${j.last_error}` }) : null,
      jobActions(j, { box, onChange: () => load() }),
      h('h3', { text: 'Attempts' }),
      simpleTable({
        caption: 'Each finished attempt, oldest first',
        empty: 'No attempt has ended yet.',
        items: j.attempts_log,
        columns: [
          { label: '#', render: (a) => String(a.number) },
          { label: 'Started', render: (a) => timeEl(a.started_at) },
          { label: 'Duration', render: (a) => `${a.duration_ms} ms` },
          { label: 'Outcome', render: (a) => statusBadge(a.outcome) },
          { label: 'HTTP status', render: (a) => (a.http_status === null ? '—' : String(a.http_status)) },
          { label: 'Error', cls: 'error-cell', render: (a) => a.error || '' },
        ],
      }),
      h('h3', { text: 'Output' }), jsonBlock(j.output),
      h('details', null, h('summary', { text: 'Snapshot delivered (data)' }), jsonBlock(j.data)));
  }
  load();
  const off = stream.subscribe(['job.updated'], (msg) => {
    if (msg.type === 'gap' || (msg.data && msg.data.id === id)) load();
  });
  hideError(box);
  return { destroy: off };
}
