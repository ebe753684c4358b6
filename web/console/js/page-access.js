// An app's page access (what its publishable key may do): the key itself
// (not a secret: pages carry it) with copy and rotate, the origins whose pages
// may use it, the forms they may submit to and the events' rate limit, saved
// with PATCH /v1/apps/{id}. The 422's field errors show beside each control.

import { h, uid, copyButton } from './dom.js';
import { api, enc } from './api.js';
import { alertBox, statusLine, setStatus, withBusy, actionButton } from './feedback.js';
import { field, textInput, textArea, showFieldErrors, resetErrors } from './fields.js';
import { confirmDialog } from './dialog.js';

const lines = (text) => text.split('\n').map((s) => s.trim()).filter(Boolean);

// `app` as GET /v1/apps lists it; onChange(updated app) after a save or rotation.
export function pageAccessPanel(app, onChange) {
  const box = alertBox();
  const status = statusLine();
  const keyInput = h('input', { type: 'text', id: uid('key'), readonly: true, value: app.publishable_key, class: 'secret',
    'aria-label': `Publishable key of ${app.name}` });
  const origins = textArea(app.allowed_origins.join('\n'), { name: 'allowed_origins', rows: 3 });
  const forms = textArea(app.forms.join('\n'), { name: 'forms', rows: 3 });
  const rate = textInput(String(app.rate_limit.events_per_second), { type: 'number', min: 1, name: 'events_per_second' });
  const burst = textInput(String(app.rate_limit.burst), { type: 'number', min: 1, name: 'burst' });
  const saveBtn = h('button', { type: 'submit', text: 'Save page access' });

  const rotateBtn = actionButton('Rotate key', async () => {
    const updated = await api.post(`/v1/apps/${enc(app.id)}/publishable-key`);
    keyInput.value = updated.publishable_key;
    Object.assign(app, updated);
    onChange(app);
    setStatus(status, 'Key rotated: the previous one no longer works.');
  }, { box, cls: 'secondary', busyLabel: 'Rotating…',
    confirm: () => confirmDialog(`Rotate the publishable key of "${app.name}"? Pages that carry the current key stop sending at once.`, 'Rotate key') });

  const form = h('form', { class: 'card', novalidate: true, 'aria-label': `Page access of ${app.name}` },
    h('h2', { text: `Page access of ${app.name}` }),
    h('p', { class: 'hint', text: 'Pages send events, and responses to the forms listed here, with the publishable key from the origins listed here. It is not a secret; the app token is.' }),
    h('div', { class: 'field' }, h('label', { text: 'Publishable key', for: keyInput.id }),
      h('div', { class: 'inline' }, keyInput, copyButton(() => keyInput.value, 'Copy key'), rotateBtn)),
    field('Allowed origins', origins, { path: 'allowed_origins',
      hint: 'One per line: https://shop.example.org, http://127.0.0.1:8080, https://*.example.org (any subdomain). No path. None: the key works from no page.' }),
    field('Forms', forms, { path: 'forms', hint: 'Ids of the forms pages may submit to, one per line.' }),
    h('div', { class: 'inline' },
      field('Events per second', rate, { path: 'rate_limit.events_per_second', hint: 'On average, per node.' }),
      field('Burst', burst, { path: 'rate_limit.burst', hint: 'At once, beyond the average.' })),
    box, status,
    h('div', { class: 'actions' }, saveBtn));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, box);
    setStatus(status, '');
    const body = {
      allowed_origins: lines(origins.value),
      forms: lines(forms.value),
      rate_limit: { events_per_second: Number(rate.value), burst: Number(burst.value) },
    };
    try {
      const updated = await withBusy(saveBtn, () => api.patch(`/v1/apps/${enc(app.id)}`, body), 'Saving…');
      Object.assign(app, updated);
      onChange(app);
      setStatus(status, 'Saved.');
    } catch (e) {
      showFieldErrors(form, box, e);
    }
  });
  return form;
}
