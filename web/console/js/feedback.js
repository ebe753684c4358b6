// How the console shows progress and failure: an alert box (role="alert")
// holding a problem's detail, a busy state on the button that started a long
// operation, and status text (role="status").

import { h, replace, clear } from './dom.js';

// An empty alert region; show it with showError(box, err).
export function alertBox() {
  return h('div', { role: 'alert', class: 'alert', hidden: true });
}

// Puts err's detail (an ApiError, or any Error or string) and its field
// errors that no input took (`unplaced`) in the alert box.
export function showError(box, err, unplaced) {
  const detail = typeof err === 'string' ? err : err && (err.detail || err.message);
  const list = unplaced && unplaced.length
    ? h('ul', null, unplaced.map((e) => h('li', null, e.field ? h('code', { text: e.field }) : null, e.field ? ': ' : '', e.message)))
    : null;
  replace(box, h('p', { text: detail || 'Something went wrong.' }), list);
  box.hidden = false;
}

export function hideError(box) {
  clear(box);
  box.hidden = true;
}

// A polite status line ("Saved.", "Loading…").
export function statusLine(text = '') {
  return h('p', { role: 'status', class: 'status-line', text });
}

export function setStatus(el, text, busy = false) {
  replace(el, busy ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null, text);
}

// Runs fn() with the button busy (disabled, aria-busy, a spinner, optional
// busy label); returns fn's result. Re-throws fn's error.
export async function withBusy(button, fn, busyLabel) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.classList.add('busy');
  if (busyLabel) button.textContent = busyLabel;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.classList.remove('busy');
    if (busyLabel) button.textContent = label;
  }
}

// A button that runs `action()` busy, shows its error in `box` (if given),
// and never leaves an unhandled rejection. `confirm()`, when given, runs
// first (before the busy state) and may resolve false to do nothing.
export function actionButton(label, action, { box, cls = '', busyLabel, confirm } = {}) {
  const btn = h('button', { type: 'button', class: cls, text: label });
  btn.addEventListener('click', async () => {
    if (box) hideError(box);
    if (confirm && !(await confirm())) return;
    try {
      await withBusy(btn, action, busyLabel);
    } catch (e) {
      if (box) showError(box, e);
      else reportError(e);
    }
  });
  return btn;
}

// Fallback for errors no page box can take: the shell's global alert.
let globalBox = null;
export function setGlobalAlert(box) {
  globalBox = box;
}
export function reportError(err) {
  if (globalBox) showError(globalBox, err);
}
