// Apps: list, create (its token shown once, with a copy button), rotate a
// token (shown once), delete (after a confirmation), each app's policy for
// events of unknown types, and its page access (publishable key, origins,
// forms, rate limit: page-access.js), both with PATCH /v1/apps/{id}.

import { h, replace, timeEl, copyButton } from '../dom.js';
import { api, enc } from '../api.js';
import { pagedTable } from '../table.js';
import { alertBox, showError, hideError, statusLine, setStatus, withBusy, actionButton } from '../feedback.js';
import { field, textInput, selectEl, showFieldErrors, resetErrors } from '../fields.js';
import { confirmDialog } from '../dialog.js';
import { remember, forget } from '../names.js';
import { pageAccessPanel } from '../page-access.js';

// A panel that shows a secret once, with a copy button.
export function secretPanel(title, secret, note) {
  const out = h('input', { type: 'text', readonly: true, value: secret, class: 'secret', 'aria-label': title });
  return h('div', { class: 'secret-panel', role: 'region', 'aria-label': title },
    h('h3', { text: title }),
    h('p', { text: note }),
    h('div', { class: 'inline' }, out, copyButton(() => secret, 'Copy token')));
}

export function mount(root) {
  const tokenSlot = h('div', { 'aria-live': 'polite' });
  const accessSlot = h('div');
  const pageBox = alertBox();

  const nameInput = textInput('', { name: 'name', maxlength: 200 });
  const createBtn = h('button', { type: 'submit', text: 'Create app' });
  const createBox = alertBox();
  const createForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'apps-new' },
    h('h2', { id: 'apps-new', text: 'New app' }),
    field('Name', nameInput, { path: 'name', hint: 'Names need not be unique; the app is known by its id.' }),
    createBox,
    h('div', { class: 'actions' }, createBtn));

  function showToken(app, verb, title = `Token of ${app.name}`) {
    replace(tokenSlot, secretPanel(title, app.token,
      `${verb}. This token is shown only now: copy it to the app's configuration. Daisy keeps only its hash.`));
    tokenSlot.querySelector('input').focus();
  }

  createForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(createForm, createBox);
    try {
      const app = await withBusy(createBtn, () => api.post('/v1/apps', { name: nameInput.value }), 'Creating…');
      nameInput.value = '';
      remember('app', app);
      table.upsert(app, { prepend: true });
      showToken(app, `App "${app.name}" created`);
    } catch (e) {
      showFieldErrors(createForm, createBox, e);
    }
  });

  const table = pagedTable({
    caption: 'Apps, oldest first',
    empty: 'No apps yet. Create one to get a token for sending events and responses.',
    load: (after) => api.get('/v1/apps', { limit: 50, after }),
    columns: [
      { label: 'Name', header: true, render: (a) => a.name },
      { label: 'Id', render: (a) => h('code', { class: 'id', text: a.id }) },
      { label: 'Created', render: (a) => timeEl(a.created_at) },
      { label: 'Unknown event types', render: (a) => policySelect(a) },
      { label: 'Actions', render: (a) => h('div', { class: 'row-actions' },
        actionButton('Page access', async () => openAccess(a), { box: pageBox, cls: 'secondary' }),
        actionButton('Rotate token', () => rotate(a), { box: pageBox, cls: 'secondary', busyLabel: 'Rotating…',
          confirm: () => confirmDialog(`Rotate the token of "${a.name}"? The current token stops working at once.`, 'Rotate token') }),
        actionButton('Delete', () => remove(a), { box: pageBox, cls: 'danger', busyLabel: 'Deleting…',
          confirm: () => confirmDialog(`Delete the app "${a.name}"? Its token stops working at once. Its events and responses stay.`, 'Delete app') })) },
    ],
  });

  function policySelect(app) {
    const sel = selectEl([['accept', 'accept (store unchecked)'], ['reject', 'reject']], app.unknown_event_types,
      { 'aria-label': `Unknown event types for ${app.name}` });
    const st = h('span', { class: 'inline-status', role: 'status' });
    sel.addEventListener('change', async () => {
      hideError(pageBox);
      sel.disabled = true;
      setStatus(st, 'Saving…', true);
      try {
        const updated = await api.patch(`/v1/apps/${enc(app.id)}`, { unknown_event_types: sel.value });
        Object.assign(app, updated);
        setStatus(st, 'Saved.');
      } catch (e) {
        sel.value = app.unknown_event_types;
        setStatus(st, '');
        showError(pageBox, e);
      } finally {
        sel.disabled = false;
      }
    });
    return h('span', { class: 'inline' }, sel, st);
  }

  function openAccess(app) {
    accessSlot.dataset.app = app.id;
    replace(accessSlot, pageAccessPanel(app, (updated) => table.upsert(updated)));
    accessSlot.querySelector('h2').scrollIntoView({ block: 'nearest' });
    accessSlot.querySelector('textarea').focus();
  }

  async function rotate(app) {
    const res = await api.post(`/v1/apps/${enc(app.id)}/token`);
    showToken(res, `Token of "${app.name}" rotated: the previous one no longer works`, `New token of ${app.name}`);
  }

  async function remove(app) {
    await api.del(`/v1/apps/${enc(app.id)}`);
    table.remove(app.id);
    forget('app');
    replace(tokenSlot, statusLine(`App "${app.name}" deleted.`));
    if (accessSlot.dataset.app === app.id) replace(accessSlot);
  }

  replace(root,
    h('h1', { text: 'Apps' }),
    h('p', { class: 'lede', text: 'Client applications and their tokens. An app token sends events and responses, and reads its own events.' }),
    tokenSlot,
    createForm,
    accessSlot,
    h('section', { 'aria-labelledby': 'apps-list' }, h('h2', { id: 'apps-list', text: 'All apps' }), pageBox, table.el));
  table.reload();
  return {};
}
