// How a stored response reads: its status, its rule checks (which flagged
// it and why) and the actions its submission or correction triggered (jobs
// of async integrations, outputs of sync webhooks).

import { h, badge, jsonBlock, timeEl, shortId } from './dom.js';
import { simpleTable } from './table.js';
import { refLink } from './names.js';

export function statusBadge(status) {
  const kind = { accepted: 'ok', flagged: 'warn', succeeded: 'ok', failed: 'bad', dead: 'bad', cancelled: 'muted', pending: 'info', running: 'info', awaiting_callback: 'info', timeout: 'bad', gone: 'bad' }[status];
  return badge(status, kind);
}

// The messages of the rules that failed.
export function failedChecks(checks) {
  return (checks || []).filter((c) => !c.passed);
}

export function checksTable(checks) {
  return simpleTable({
    caption: 'Rule checks',
    empty: 'The form has no rules.',
    items: checks || [],
    columns: [
      { label: 'Rule', render: (c) => h('code', { text: c.rule }) },
      { label: 'Result', render: (c) => (c.passed ? badge('passed', 'ok') : badge('failed', 'warn')) },
      { label: 'Message', render: (c) => c.message || '' },
    ],
  });
}

export function actionsTable(actions) {
  return simpleTable({
    caption: 'Actions triggered',
    empty: 'No integration ran on this.',
    items: actions || [],
    columns: [
      { label: 'Integration', render: (a) => refLink('integration', a.integration_id) },
      { label: 'Mode', render: (a) => a.mode },
      { label: 'Status', render: (a) => statusBadge(a.status) },
      { label: 'Job or output', render: (a) => (a.mode === 'async'
        ? h('a', { href: `#/jobs/${a.job_id}`, text: `Job ${shortId(a.job_id)}` })
        : h('div', null, a.error ? h('p', { class: 'error-text', text: a.error }) : null, a.output !== null && a.output !== undefined ? jsonBlock(a.output) : h('span', { class: 'muted', text: 'no output' }))) },
    ],
  });
}

// The reply of a submission or correction.
export function submissionResult(resp, heading) {
  return h('section', { class: 'result card', 'aria-label': heading },
    h('h3', { text: heading }),
    h('p', null, 'Stored as ', statusBadge(resp.status), ` · revision ${resp.revision} · form version ${resp.form_version} · `,
      h('a', { href: `#/responses/${resp.form_id}/${resp.id}`, text: `response ${shortId(resp.id)}` }), ' · received ', timeEl(resp.received_at)),
    checksTable(resp.checks),
    resp.actions ? actionsTable(resp.actions) : null);
}
