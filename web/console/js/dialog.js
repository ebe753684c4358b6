// A modal confirmation built on <dialog>: resolves true when the person
// presses the confirm button, false on "Cancel" or Escape.

import { h } from './dom.js';

export function confirmDialog(message, confirmLabel = 'Confirm', { danger = true } = {}) {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
    const ok = h('button', { type: 'button', class: danger ? 'danger' : '', text: confirmLabel });
    const text = h('p', { id: 'confirm-text', text: message });
    const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      text, h('div', { class: 'actions' }, cancel, ok));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    cancel.addEventListener('click', () => done(false));
    ok.addEventListener('click', () => done(true));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
