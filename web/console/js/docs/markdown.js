// A small Markdown reader for the spec's descriptions: paragraphs, lists,
// fenced and indented code, tables, headings; inline code, bold, italics and
// links. It builds DOM nodes from text only (never innerHTML), so nothing in
// a description can inject markup.

import { h } from '../dom.js';

// Inline: `code`, **bold**, *em*, [text](url).
export function inline(text) {
  const out = [];
  const re = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(h('code', { text: m[2].trim() === '' ? m[2] : m[2].replace(/^ (.*) $/, '$1') }));
    else if (m[3] !== undefined) out.push(h('strong', null, inline(m[3])));
    else if (m[4] !== undefined) out.push(h('em', null, inline(m[4])));
    else {
      const href = m[6];
      const safe = /^(https?:\/\/|#|\/)/.test(href);
      out.push(safe ? h('a', { href, rel: 'noopener noreferrer', text: m[5] }) : `${m[5]} (${href})`);
    }
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function isTableSep(line) {
  return /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
}

function cells(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|')) s = s.slice(0, -1);
  return s.split('|').map((c) => c.trim());
}

const LIST_RE = /^(\s*)([-*]|\d+\.)\s+(.*)$/;

// Markdown text -> a DocumentFragment.
export function markdown(src) {
  const frag = document.createDocumentFragment();
  if (!src) return frag;
  const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    // Fenced code.
    if (/^\s*```/.test(line)) {
      const buf = [];
      i += 1;
      while (i < lines.length && !/^\s*```/.test(lines[i])) buf.push(lines[i++]);
      i += 1;
      frag.appendChild(h('pre', { class: 'code', text: buf.join('\n') }));
      continue;
    }
    // Indented code (4 spaces), outside lists.
    if (/^ {4}/.test(line)) {
      const buf = [];
      while (i < lines.length && (/^ {4}/.test(lines[i]) || !lines[i].trim())) buf.push(lines[i++].slice(4));
      while (buf.length && !buf[buf.length - 1].trim()) buf.pop();
      frag.appendChild(h('pre', { class: 'code', text: buf.join('\n') }));
      continue;
    }
    // Heading.
    const hm = /^(#{1,6})\s+(.*)$/.exec(line);
    if (hm) {
      const level = Math.min(6, hm[1].length + 2);
      frag.appendChild(h(`h${level}`, { class: 'md-heading' }, inline(hm[2])));
      i += 1;
      continue;
    }
    // Table.
    if (line.includes('|') && i + 1 < lines.length && isTableSep(lines[i + 1])) {
      const head = cells(line);
      i += 2;
      const rows = [];
      while (i < lines.length && lines[i].includes('|') && lines[i].trim()) rows.push(cells(lines[i++]));
      frag.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'md-table' },
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, inline(c))))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, inline(c)))))))));
      continue;
    }
    // List.
    const lm = LIST_RE.exec(line);
    if (lm) {
      const ordered = /\d/.test(lm[2]);
      const list = h(ordered ? 'ol' : 'ul');
      const indent = lm[1].length;
      while (i < lines.length) {
        const m = LIST_RE.exec(lines[i]);
        if (!m || m[1].length !== indent) break;
        const buf = [m[3]];
        i += 1;
        // Continuation lines: indented more than the marker, or blank then indented.
        while (i < lines.length) {
          const l = lines[i];
          if (!l.trim()) {
            const next = lines[i + 1];
            const nm = next !== undefined ? LIST_RE.exec(next) : null;
            if (next !== undefined && /^\s{2,}\S/.test(next) && !(nm && nm[1].length <= indent)) {
              buf.push('');
              i += 1;
              continue;
            }
            break;
          }
          const sub = LIST_RE.exec(l);
          if (sub && sub[1].length <= indent) break;
          if (!/^\s/.test(l)) break;
          buf.push(l.replace(/^\s{1,6}/, ''));
          i += 1;
        }
        const li = h('li');
        const hasBlocks = buf.some((b) => !b.trim()) || buf.some((b) => LIST_RE.test(b));
        if (hasBlocks) li.appendChild(markdown(buf.join('\n')));
        else li.append(...inline(buf.join(' ')));
        list.appendChild(li);
      }
      frag.appendChild(list);
      continue;
    }
    // Paragraph.
    const buf = [];
    while (i < lines.length) {
      const l = lines[i];
      if (!l.trim() || /^\s*```/.test(l) || /^#{1,6}\s/.test(l) || (buf.length && LIST_RE.test(l))
        || (l.includes('|') && isTableSep(lines[i + 1] || ''))) break;
      buf.push(l.trim());
      i += 1;
    }
    if (!buf.length) {
      buf.push(lines[i].trim());
      i += 1;
    }
    frag.appendChild(h('p', null, inline(buf.join(' '))));
  }
  return frag;
}
