// A table over a cursor-paged listing, kept live.
//
// pagedTable({caption, columns: [{label, render(item) -> Node|string, cls}],
//   load(after) -> Promise<{items, next_cursor}>, key(item), empty})
// returns {el, reload(), upsert(item, {prepend}), remove(key), get(key), size()}.
// Pages are appended with "Load more" (the API's next_cursor). upsert()
// updates the row of a known item in place, or, with prepend, adds it at the
// top marked as new: that is how stream messages reach a table.
//
// On a narrow screen each row shows as a card, each cell under its column's
// name (data-label); the ARIA roles keep the table's meaning for assistive
// technology once CSS no longer displays it as a table.

import { h, clear, append } from './dom.js';
import { alertBox, showError, hideError, statusLine, setStatus, withBusy } from './feedback.js';

const cell = (c, content) => append(h(c.header ? 'th' : 'td', { class: c.cls, scope: c.header ? 'row' : undefined, role: c.header ? 'rowheader' : 'cell', 'data-label': c.label }), [content]);
const emptyRow = (columns, text) => h('tr', { class: 'empty', role: 'row' }, h('td', { colspan: columns.length, role: 'cell', text }));

function tableEl(caption, columns, tbody) {
  return h('table', { class: 'stack', role: 'table' },
    caption ? h('caption', { text: caption }) : null,
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, columns.map((c) => h('th', { scope: 'col', role: 'columnheader', class: c.cls, text: c.label })))),
    tbody);
}

export function pagedTable({ caption, columns, load, key = (it) => it.id, empty = 'Nothing here yet.', rowClass }) {
  const rows = new Map();
  const tbody = h('tbody', { role: 'rowgroup' });
  const emptyTr = emptyRow(columns, empty);
  const table = tableEl(caption, columns, tbody);
  const box = alertBox();
  const status = statusLine();
  const more = h('button', { type: 'button', class: 'secondary', text: 'Load more', hidden: true });
  const el = h('div', { class: 'paged-table' }, box, h('div', { class: 'table-wrap' }, table), h('div', { class: 'table-foot' }, more, status));
  let cursor = null;
  let generation = 0;

  function renderCells(tr, item) {
    clear(tr);
    for (const c of columns) tr.appendChild(cell(c, c.render(item)));
    const isNew = tr.classList.contains('row-new');
    tr.className = rowClass ? rowClass(item) || '' : '';
    if (isNew) tr.classList.add('row-new');
  }

  function addRow(item, atTop) {
    const k = key(item);
    const tr = h('tr', { role: 'row' });
    renderCells(tr, item);
    rows.set(k, { item, tr });
    if (atTop) {
      tr.classList.add('row-new');
      tbody.insertBefore(tr, tbody.firstChild);
    } else tbody.appendChild(tr);
  }

  function refreshEmpty() {
    if (rows.size === 0 && !emptyTr.parentNode) tbody.appendChild(emptyTr);
    if (rows.size > 0 && emptyTr.parentNode) emptyTr.remove();
  }

  function countText() {
    return `${rows.size} shown${cursor ? '; more available' : ''}.`;
  }

  async function fetchPage() {
    const gen = generation;
    setStatus(status, 'Loading…', true);
    hideError(box);
    try {
      const page = await load(cursor || undefined);
      if (gen !== generation) return;
      for (const item of page.items) if (!rows.has(key(item))) addRow(item, false);
      cursor = page.next_cursor || null;
      // A full page's cursor may lead to an empty page: that is the end.
      if (page.items.length === 0) cursor = null;
      more.hidden = !cursor;
      refreshEmpty();
      setStatus(status, countText());
    } catch (e) {
      if (gen !== generation) return;
      setStatus(status, '');
      refreshEmpty();
      showError(box, e);
    }
  }

  more.addEventListener('click', () => withBusy(more, fetchPage, 'Loading…'));

  const api = {
    el,
    reload() {
      generation += 1;
      rows.clear();
      clear(tbody);
      cursor = null;
      more.hidden = true;
      return fetchPage();
    },
    // Updates the item's row; a new item is added at the top when `prepend`.
    upsert(item, { prepend = false } = {}) {
      const r = rows.get(key(item));
      if (r) {
        r.item = item;
        renderCells(r.tr, item);
        r.tr.classList.add('row-updated');
        setTimeout(() => r.tr.classList.remove('row-updated'), 1500);
        return true;
      }
      if (!prepend) return false;
      addRow(item, true);
      refreshEmpty();
      setStatus(status, countText());
      return true;
    },
    remove(k) {
      const r = rows.get(k);
      if (!r) return;
      r.tr.remove();
      rows.delete(k);
      refreshEmpty();
      setStatus(status, countText());
    },
    get: (k) => rows.get(k)?.item,
    size: () => rows.size,
    items: () => [...rows.values()].map((r) => r.item),
  };
  return api;
}

// A plain (not paged) table of `items`.
export function simpleTable({ caption, columns, items, empty = 'Nothing here.' }) {
  return h('div', { class: 'table-wrap' }, tableEl(caption, columns, h('tbody', { role: 'rowgroup' }, items.length === 0
    ? emptyRow(columns, empty)
    : items.map((it) => h('tr', { role: 'row' }, columns.map((c) => cell(c, c.render(it))))))));
}
