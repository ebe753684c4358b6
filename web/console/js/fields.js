// Labelled form controls, and the mapping of a 422 problem's field errors
// ({field: "questions[2].key", message}) to the controls that carry the same
// path in data-field. A field with no control of its own goes to its nearest
// ancestor path ("config.url" -> "config"); the rest are listed in the alert.

import { h, uid } from './dom.js';
import { showError, hideError } from './feedback.js';

// A label + control + hint + error slot. `path` names the API field the
// control edits (for error mapping).
export function field(label, control, { hint, path, cls } = {}) {
  if (!control.id) control.id = uid('in');
  if (path) control.dataset.field = path;
  const hintEl = hint ? h('p', { class: 'hint', id: uid('hint'), text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: ['field', cls] }, h('label', { for: control.id, text: label }), control, hintEl,
    h('p', { class: 'field-error', id: `${control.id}-error`, hidden: true }));
}

// A checkbox with its label after it.
export function checkField(label, checked, { path } = {}) {
  const box = h('input', { type: 'checkbox', id: uid('in'), checked });
  if (path) box.dataset.field = path;
  return {
    box,
    el: h('div', { class: 'field check' }, box, h('label', { for: box.id, text: label }),
      h('p', { class: 'field-error', id: `${box.id}-error`, hidden: true })),
  };
}

export function textInput(value = '', props = {}) {
  return h('input', { type: 'text', value: value ?? '', autocomplete: 'off', ...props });
}

export function selectEl(options, value, props = {}) {
  const sel = h('select', props);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    sel.appendChild(h('option', { value: v, text: label, selected: String(v) === String(value ?? '') }));
  }
  return sel;
}

export function textArea(value = '', props = {}) {
  return h('textarea', { rows: 4, spellcheck: 'false', ...props, value: value ?? '' });
}

// A fieldset of checkboxes; returns {el, values()}.
export function checkboxGroup(legend, options, selected, { path } = {}) {
  const boxes = options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    const box = h('input', { type: 'checkbox', id: uid('cb'), value: v, checked: selected.includes(v) });
    return { v, box, el: h('span', { class: 'check-inline' }, box, h('label', { for: box.id, text: label })) };
  });
  const fs = h('fieldset', { class: 'field group' }, h('legend', { text: legend }), boxes.map((b) => b.el),
    h('p', { class: 'field-error', hidden: true }));
  if (path) fs.dataset.field = path;
  return { el: fs, values: () => boxes.filter((b) => b.box.checked).map((b) => b.v) };
}

function parentPath(path) {
  const m = /(\.[^.[\]]+|\[\d+\])$/.exec(path);
  return m ? path.slice(0, m.index) : null;
}

function findTarget(container, path) {
  for (let p = path; p; p = parentPath(p)) {
    const el = container.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return { el, exact: p === path };
  }
  return null;
}

export function clearFieldErrors(container) {
  for (const el of container.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of container.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
}

// Shows err in `box` and each of err.errors beside its control in
// `container`; focuses the first invalid control. Returns the unplaced errors.
export function showFieldErrors(container, box, err) {
  clearFieldErrors(container);
  const unplaced = [];
  let first = null;
  for (const e of err.errors || []) {
    const t = e.field ? findTarget(container, e.field) : null;
    if (!t) {
      unplaced.push(e);
      continue;
    }
    const holder = t.el.closest('.field, fieldset') || t.el.parentElement;
    let slot = [...holder.children].find((c) => c.classList.contains('field-error'));
    if (!slot) {
      slot = h('p', { class: 'field-error' });
      holder.appendChild(slot);
    }
    if (!slot.id) slot.id = uid('err');
    const msg = t.exact ? e.message : `${e.field}: ${e.message}`;
    slot.textContent = slot.textContent ? `${slot.textContent} ${msg}` : msg;
    slot.hidden = false;
    t.el.setAttribute('aria-invalid', 'true');
    const described = (t.el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(slot.id)) t.el.setAttribute('aria-describedby', [...described, slot.id].join(' '));
    if (!first) first = t.el;
  }
  showError(box, err, unplaced);
  if (first) {
    const focusable = first.matches('input, select, textarea, button') ? first : first.querySelector('input, select, textarea, button');
    if (focusable) focusable.focus();
  }
  return unplaced;
}

export function resetErrors(container, box) {
  clearFieldErrors(container);
  hideError(box);
}

// Parses a JSON textarea; throws a field-shaped error naming `path`.
export function parseJsonField(text, path, { allowEmpty = true, expect = 'object' } = {}) {
  const t = text.trim();
  if (!t) {
    if (allowEmpty) return undefined;
    throw Object.assign(new Error('is required'), { errors: [{ field: path, message: 'is required' }], detail: `${path} is required.` });
  }
  let v;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw Object.assign(new Error(e.message), { errors: [{ field: path, message: `is not valid JSON: ${e.message}` }], detail: 'Some fields are not valid JSON.' });
  }
  if (expect === 'object' && (v === null || typeof v !== 'object' || Array.isArray(v))) {
    throw Object.assign(new Error('not an object'), { errors: [{ field: path, message: 'must be a JSON object' }], detail: 'Some fields are not JSON objects.' });
  }
  return v;
}
