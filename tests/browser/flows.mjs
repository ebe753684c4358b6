// The flows of the console's browser test. Each flow sets up what it needs
// through the API (so that one failing leaves the others meaningful), drives
// the console by accessible names, and checks the outcome both on the page and
// through the API. Flows share one signed-in tab; signIn() signs in again
// whenever a flow finds the sign-in form (after an earlier flow failed).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';

import { waitUntil, localServer, PHONE } from './harness.mjs';
import {
  aria, byRole, button, link, control, fill, choose, click, waitForText, row, waitForAlert, noAlerts, navigate, WAIT,
} from './ui.mjs';

const NAV = [
  ['Overview', '#/overview'], ['Apps', '#/apps'], ['Forms', '#/forms'], ['Responses', '#/responses'],
  ['Events', '#/events'], ['Integrations', '#/integrations'], ['Providers', '#/providers'],
];

const suffix = () => randomBytes(3).toString('hex');

// The budget form of README.md: two numbers and a rule that flags savings above income.
const RULE = {
  name: 'savings_below_income',
  check: 'answers.monthly_savings == nil or answers.monthly_savings <= answers.monthly_income',
  message: 'Savings cannot exceed income',
  on_fail: 'flag',
};
function budgetForm(title) {
  return {
    title,
    questions: [
      { key: 'monthly_income', label: 'Monthly income', type: 'number', required: true, min: 0 },
      { key: 'monthly_savings', label: 'Monthly savings', type: 'number', min: 0 },
    ],
    rules: [RULE],
  };
}

// Opens the console in `page` and signs in with the admin token unless signed in already.
async function signIn(ctx, page = ctx.page) {
  const shown = async (sel) => { const el = await page.$(sel); return Boolean(el && await el.isVisible()); };
  if (!page.url().startsWith(ctx.ui) || !(await shown(aria('button', 'Sign out')) || await shown(aria(null, 'Token')))) {
    // (Re)loading cuts the live stream of the page as it was: not a failure.
    const res = await ctx.monitor.leaving(page, async () => {
      const r = await page.goto(`${ctx.ui}#/overview`, { waitUntil: 'load' });
      return r || page.reload({ waitUntil: 'load' }); // only the fragment changed: no request was made
    });
    if (!res || res.status() !== 200) throw new Error(`GET /ui answered ${res ? res.status() : 'nothing'}`);
  }
  const signedIn = await Promise.any([
    page.waitForSelector(aria('button', 'Sign out'), { visible: true, timeout: WAIT }).then(() => true),
    page.waitForSelector(aria(null, 'Token'), { visible: true, timeout: WAIT }).then(() => false),
  ]).catch(() => { throw new Error('the console shows neither the sign-in form nor a "Sign out" button'); });
  if (signedIn) return;
  await fill(page, await control(page, 'Token'), ctx.adminToken);
  await click(page, 'button', 'Sign in');
  await byRole(page, 'button', 'Sign out');
}

// Goes to a nav section (signing in first if needed).
async function go(ctx, name, hash, page = ctx.page) {
  await signIn(ctx, page);
  await navigate(page, name, hash);
  await byRole(page, 'heading', name);
}

// The value the page holds in a read-only textbox (a token shown once).
const valueOf = (el) => el.evaluate((e) => e.value);

// ---------------------------------------------------------------------------

async function signInFlow(ctx) {
  const { page, monitor, shots } = ctx;
  const res = await page.goto(`${ctx.ui}`, { waitUntil: 'load' });
  if (res.status() !== 200) throw new Error(`GET /ui answered ${res.status()}`);
  if (!/text\/html/.test(res.headers()['content-type'] || '')) throw new Error(`GET /ui is ${res.headers()['content-type']}, not HTML`);
  const token = await control(page, 'Token');
  await button(page, 'Sign in');
  await shots.take(page, 'sign-in');

  // A wrong token: the server answers 401 and the console says so in an alert.
  monitor.allow(401, `${ctx.server.url}/v1/`, 'the wrong token is refused');
  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  await fill(page, token, wrong);
  const refused = page.waitForResponse((r) => r.status() === 401, { timeout: WAIT });
  await click(page, 'button', 'Sign in');
  await refused;
  const msg = await waitForAlert(page);
  if (!/token|unauthori[sz]ed|sign/i.test(msg)) throw new Error(`the sign-in error does not say what is wrong: "${msg}"`);
  await shots.take(page, 'sign-in-wrong-token');
  const storedWrong = await page.evaluate(() => Object.values(sessionStorage));
  if (storedWrong.includes(wrong)) throw new Error('the refused token was kept in sessionStorage');
  const navShown = await page.$(aria('link', 'Responses'));
  if (navShown && await navShown.isVisible()) throw new Error('the nav shows after a refused sign-in');
  monitor.disallow(); // from here on, any 401 is a failure

  // The right token: the nav and the overview show, the token is in sessionStorage only.
  await fill(page, await control(page, 'Token'), ctx.adminToken);
  await click(page, 'button', 'Sign in');
  await byRole(page, 'heading', 'Overview');
  for (const [name, hash] of NAV) {
    const a = await link(page, name);
    const href = await a.evaluate((e) => e.getAttribute('href'));
    if (href !== hash) throw new Error(`the nav link "${name}" goes to ${href}, not ${hash}`);
  }
  const ref = await link(page, 'API reference');
  const refHref = await ref.evaluate((e) => new URL(e.href).pathname);
  if (refHref !== '/docs') throw new Error(`the nav link "API reference" goes to ${refHref}, not /docs`);
  const stored = await page.evaluate(() => ({ s: Object.values(sessionStorage), l: Object.values(localStorage) }));
  if (!stored.s.includes(ctx.adminToken)) throw new Error('the token is not in sessionStorage after signing in');
  if (stored.l.some((v) => v.includes(ctx.adminToken))) throw new Error('the token was written to localStorage');
  if (!/^#\/overview/.test(await page.evaluate(() => location.hash))) throw new Error('signing in did not lead to #/overview');
  await waitForText(page, /\bLive\b/); // the live stream is connected
  await noAlerts(page, 'after signing in');
  await shots.take(page, 'overview');
}

async function appsFlow(ctx) {
  const { page, api, shots } = ctx;
  const name = `kiosk ${suffix()}`;
  await go(ctx, 'Apps', '#/apps');
  const create = await byRole(page, 'form', 'New app');
  await fill(page, await byRole(create, 'textbox', 'Name'), name);
  await click(create, 'button', 'Create app');

  // The token is shown once, in a box named after the app.
  const shown = await byRole(page, 'textbox', `Token of ${name}`);
  const token = await valueOf(shown);
  if (!/^dsy_app_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`the token shown is not an app token: "${token}"`);
  await row(page, [name]);
  await noAlerts(page, 'after creating an app');
  await shots.take(page, 'apps');

  // It is the app's real token: the API takes an event sent with it.
  const app = (await api.get('/v1/apps?limit=1000')).items.find((a) => a.name === name);
  if (!app) throw new Error(`GET /v1/apps does not list the app "${name}" created in the console`);
  const sent = await api.call('POST', '/v1/events', {
    token,
    body: { session_id: randomUUID(), category: 'kiosk', name: 'tap', data: {}, timestamp: new Date().toISOString() },
  });
  if (sent.status !== 202) throw new Error(`an event sent with the token shown answered ${sent.status}`);

  // Shown only once: back on the page, the token is nowhere.
  await navigate(page, 'Overview', '#/overview');
  await navigate(page, 'Apps', '#/apps');
  await row(page, [name]);
  const again = await page.evaluate((t) => document.body.innerText.includes(t) ||
    [...document.querySelectorAll('input')].some((i) => i.value === t), token);
  if (again) throw new Error('the app token is shown again after leaving the page and coming back');

  // Page access: the app's publishable key as the API has it, then origins
  // and a rate limit saved; an origin that is not one is named beside its box.
  await click(await row(page, [name]), 'button', 'Page access');
  const access = await byRole(page, 'form', `Page access of ${name}`);
  const keyBox = await byRole(access, 'textbox', `Publishable key of ${name}`);
  if (await valueOf(keyBox) !== app.publishable_key) {
    throw new Error(`the console shows the publishable key "${await valueOf(keyBox)}", the API "${app.publishable_key}"`);
  }
  ctx.monitor.allow(422, `${ctx.server.url}/v1/apps/`, 'an allowed origin that is not an origin is refused');
  await fill(access, 'Allowed origins', 'https://shop.example.org\nnot an origin');
  await click(access, 'button', 'Save page access');
  await waitForText(page, 'allowed_origins[1]:', { root: access });
  ctx.monitor.disallow();
  await shots.take(page, 'apps-page-access-refused');
  await fill(access, 'Allowed origins', 'https://shop.example.org');
  await fill(access, 'Events per second', '5');
  await fill(access, 'Burst', '10');
  await click(access, 'button', 'Save page access');
  await waitForText(page, 'Saved.', { root: access });
  const saved = await api.get(`/v1/apps/${app.id}`);
  if (JSON.stringify(saved.allowed_origins) !== '["https://shop.example.org"]' ||
      saved.rate_limit.events_per_second !== 5 || saved.rate_limit.burst !== 10) {
    throw new Error(`the page access saved is not what was entered: ${JSON.stringify(saved)}`);
  }
  await shots.take(page, 'apps-page-access');

  // Rotating the key (after its confirmation) shows the new one, which the API has too.
  await click(access, 'button', 'Rotate key');
  const confirm = await byRole(page, 'dialog',
    `Rotate the publishable key of "${name}"? Pages that carry the current key stop sending at once.`);
  await click(confirm, 'button', 'Rotate key');
  await waitForText(page, 'Key rotated', { root: access });
  const rotated = await api.get(`/v1/apps/${app.id}`);
  if (rotated.publishable_key === app.publishable_key) throw new Error('rotating the key did not change it');
  if (await valueOf(keyBox) !== rotated.publishable_key) throw new Error('the console does not show the rotated key');
  await noAlerts(page, 'after saving the page access and rotating the key');
}

async function formsFlow(ctx) {
  const { page, api, shots } = ctx;
  const title = `Household budget ${suffix()}`;
  await go(ctx, 'Forms', '#/forms');
  await click(page, 'link', 'New form');
  await byRole(page, 'heading', 'New form');
  const def = await byRole(page, 'form', 'Definition');
  await fill(page, await byRole(def, 'textbox', 'Title'), title);

  // Two number questions.
  for (const [i, q] of budgetForm(title).questions.entries()) {
    await click(def, 'button', 'Add question');
    const item = await byRole(def, 'group', `Question ${i + 1}`);
    await fill(page, await byRole(item, 'textbox', 'Key'), q.key);
    await choose(item, await byRole(item, 'combobox', 'Type'), q.type);
    await fill(page, await byRole(item, 'textbox', 'Label'), q.label);
    if (q.required) await (await byRole(item, 'checkbox', 'Required')).click();
    await fill(page, await byRole(item, 'spinbutton', 'Min'), String(q.min));
  }
  // The rule.
  await click(def, 'button', 'Add rule');
  const rule = await byRole(def, 'group', 'Rule 1');
  await fill(page, await byRole(rule, 'textbox', 'Name'), RULE.name);
  await choose(rule, await byRole(rule, 'combobox', 'On fail'), RULE.on_fail);
  await fill(page, await byRole(rule, 'textbox', 'Check (Lua expression over answers)'), RULE.check);
  await fill(page, await byRole(rule, 'textbox', 'Message'), RULE.message);
  await shots.take(page, 'form-editor');
  await click(def, 'button', 'Create form');

  // The form's page: its title, then the preview.
  await byRole(page, 'heading', title);
  await noAlerts(page, 'after creating the form');
  const form = (await api.get('/v1/forms?limit=1000')).items.find((f) => f.title === title);
  if (!form) throw new Error(`GET /v1/forms does not list the form "${title}" created in the console`);
  const keys = form.questions.map((q) => `${q.key}:${q.type}${q.required ? '!' : ''}`).join(',');
  if (keys !== 'monthly_income:number!,monthly_savings:number') throw new Error(`the form stored has the questions ${keys}`);
  if (form.rules.length !== 1 || form.rules[0].check !== RULE.check || form.rules[0].on_fail !== 'flag') {
    throw new Error(`the form stored has the rules ${JSON.stringify(form.rules)}`);
  }

  // Submit through the preview: savings above income, so the rule flags it.
  const preview = await byRole(page, 'form', 'Preview');
  await fill(page, await byRole(preview, 'spinbutton', 'Monthly income'), '1200');
  await fill(page, await byRole(preview, 'spinbutton', 'Monthly savings'), '1500');
  await click(preview, 'button', 'Submit response');
  const result = await byRole(page, 'region', 'Submitted');
  await waitForText(page, 'flagged', { root: result });
  await row(page, [RULE.name, 'failed', RULE.message]);
  await noAlerts(page, 'after submitting through the preview');
  await shots.take(page, 'form-preview-flagged');
  const stored = (await api.get(`/v1/forms/${form.id}/responses`)).items;
  if (stored.length !== 1 || stored[0].status !== 'flagged' || stored[0].answers.monthly_savings !== 1500) {
    throw new Error(`the preview's response is stored as ${JSON.stringify(stored)}`);
  }
}

async function responsesFlow(ctx) {
  const { page, api, shots } = ctx;
  const form = await api.post('/v1/forms', budgetForm(`Live budget ${suffix()}`));
  await go(ctx, 'Responses', '#/responses');
  await choose(page, await byRole(page, 'combobox', 'Form'), form.title);
  await page.waitForFunction((id) => location.hash === `#/responses/${id}`, { timeout: WAIT }, form.id);
  await byRole(page, 'heading', `Responses to ${form.title}`);
  await waitForText(page, 'No responses match.');
  await waitForText(page, /\bLive\b/);

  // A response sent with curl-like fetch shows up without a reload.
  await page.evaluate(() => { window.__daisyNoReload = true; });
  const income = 3000 + Math.floor(Math.random() * 1000);
  const sent = await api.post(`/v1/forms/${form.id}/responses`, { answers: { monthly_income: income, monthly_savings: income + 250 } });
  const tr = await row(page, [`monthly_income: ${income}`, 'flagged']);
  if (!(await page.evaluate(() => window.__daisyNoReload === true))) throw new Error('the page reloaded to show the new response');
  await waitForText(page, RULE.message, { root: tr });
  await shots.take(page, 'responses');

  // Open it and correct the savings: revision 2, accepted.
  await click(tr, 'link', `Open response ${sent.id.slice(-8)}`);
  const detail = await byRole(page, 'region', `Response ${sent.id.slice(-8)}`);
  const correction = await byRole(detail, 'form', 'Correct the answers');
  await fill(page, await byRole(correction, 'spinbutton', 'Monthly savings'), '100');
  await click(correction, 'button', 'Submit correction');
  // The detail (drawn anew) shows both revisions side by side, the new one accepted.
  await waitForText(page, 'Revision 2');
  const after = await byRole(page, 'region', `Response ${sent.id.slice(-8)}`);
  await waitForText(page, 'Revision 1', { root: after });
  await waitForText(page, 'accepted', { root: after });
  await row(page, [`monthly_income: ${income}`, 'accepted', '2']);
  await noAlerts(page, 'after the correction');
  await shots.take(page, 'response-corrected');
  const revs = await api.get(`/v1/forms/${form.id}/responses/${sent.id}/revisions`);
  const got = revs.items.map((r) => `${r.revision}:${r.status}:${r.answers.monthly_savings}`).join(',');
  if (got !== `1:flagged:${income + 250},2:accepted:100`) throw new Error(`the revisions stored are ${got}`);
}

async function jobsFlow(ctx) {
  const { page, api, shots } = ctx;
  // A receiver that fails (500) until told otherwise.
  let failing = true;
  const hook = await localServer((req, res) => {
    res.statusCode = failing ? 500 : 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(failing ? '{"error":"receiver down"}' : '{"ok":true}');
  });
  ctx.cleanup(hook.close);
  const form = await api.post('/v1/forms', budgetForm(`Hooked budget ${suffix()}`));
  const integ = await api.post('/v1/integrations', {
    name: `crm ${suffix()}`, source: { form_id: form.id }, on: ['response.created'], type: 'webhook',
    config: { url: `${hook.url}/hooks/daisy` }, retry: { schedule_s: [0] }, // one attempt, then dead
  });
  const resp = await api.post(`/v1/forms/${form.id}/responses`, { answers: { monthly_income: 10, monthly_savings: 1 } });
  const jobId = resp.actions[0].job_id;
  await waitUntil(`job ${jobId} to be dead`, async () => (await api.get(`/v1/jobs/${jobId}`)).status === 'dead',
    { timeout: 30000, interval: 200 });

  // The dead job in the console: Integrations > Jobs, status dead.
  await go(ctx, 'Integrations', '#/integrations');
  await row(page, [integ.name]);
  await shots.take(page, 'integrations');
  await navigate(page, 'Jobs', '#/jobs'); // the Integrations section's sub-nav
  await byRole(page, 'heading', 'Jobs');
  const filter = await byRole(page, 'form', 'Filter jobs');
  await choose(filter, await byRole(filter, 'combobox', 'Status'), 'dead');
  await click(filter, 'button', 'Apply filters');
  const short = jobId.slice(-8);
  const tr = await row(page, [short, 'dead']);
  await byRole(tr, 'button', `Retry job ${short}`);
  await shots.take(page, 'jobs-dead');

  // Open it: one failed attempt (HTTP 500). Retry it with the receiver back up:
  // the page follows the job to succeeded, with the second attempt logged.
  await click(tr, 'link', `Job ${jobId}`);
  await page.waitForFunction((id) => location.hash === `#/jobs/${id}`, { timeout: WAIT }, jobId);
  await byRole(page, 'heading', `Job ${short} dead`);
  await row(page, ['1', 'failed', '500']);
  failing = false;
  await click(page, 'button', `Retry job ${short}`);
  await byRole(page, 'heading', `Job ${short} succeeded`, { timeout: 30000 });
  await row(page, ['2', 'succeeded', '200']);
  await noAlerts(page, 'after retrying the job');
  const job = await api.get(`/v1/jobs/${jobId}`);
  if (job.status !== 'succeeded' || job.attempts !== 2 || hook.requests.length !== 2) {
    throw new Error(`after the retry the job is ${job.status} with ${job.attempts} attempts, and the receiver got ` +
      `${hook.requests.length} requests`);
  }
  await shots.take(page, 'job-retried');
}

async function eventsFlow(ctx) {
  const { page, api, shots } = ctx;
  const app = await api.post('/v1/apps', { name: `web ${suffix()}` });
  const session = randomUUID();
  const other = randomUUID();
  const t0 = Date.now() - 60000;
  const at = (s) => new Date(t0 + s * 1000).toISOString();
  const events = [
    { session_id: session, category: 'page interaction', name: 'pageview', data: { host: 'example.org', path: '/pricing' }, timestamp: at(0) },
    { session_id: session, category: 'page interaction', name: 'cta click', data: { host: 'example.org', path: '/pricing', element: 'buy' }, timestamp: at(4) },
    { session_id: session, category: 'checkout', name: 'paid', data: { amount: 42 }, timestamp: at(9) },
    { session_id: other, category: 'page interaction', name: 'pageview', data: { host: 'example.org', path: '/other' }, timestamp: at(2) },
  ];
  const r = await api.call('POST', '/v1/events', { token: app.token, body: { events } });
  if (r.status !== 202 || r.body.accepted !== events.length) throw new Error(`sending the events answered ${r.status} ${JSON.stringify(r.body)}`);

  await go(ctx, 'Events', '#/events');
  const find = await byRole(page, 'form', 'Find events');
  await fill(page, await byRole(find, 'textbox', 'Session ID'), session);
  await click(find, 'button', 'Search');
  for (const name of ['pageview', 'cta click', 'paid']) await row(page, [name, session.slice(0, 8)]);
  const strays = await page.evaluate((s) => [...document.querySelectorAll('tr, [role="row"]')]
    .filter((tr) => tr.innerText.includes(s)).length, other.slice(0, 8));
  if (strays) throw new Error('the search by session shows events of another session');
  await shots.take(page, 'events');

  // The session's timeline.
  const sessionLink = await byRole(page, 'link', `Session ${session}`);
  await sessionLink.click();
  await page.waitForFunction((s) => location.hash === `#/events/session/${s}`, { timeout: WAIT }, session);
  await byRole(page, 'heading', `Session ${session}`);
  for (const name of ['pageview', 'cta click', 'paid']) await waitForText(page, name);
  await waitForText(page, '3 of 3 events shown.');
  await noAlerts(page, 'on the session page');
  await shots.take(page, 'events-session');
}

async function providersFlow(ctx) {
  const { page, api, shots } = ctx;
  const xml = await readFile(path.join(ctx.fixtures, 'fever-plans.xml'));
  const feed = await localServer((req, res) => {
    res.setHeader('Content-Type', 'application/xml');
    res.end(xml);
  });
  ctx.cleanup(feed.close);
  // Disabled: pulled only when asked, so the console's pull is the first one.
  const name = `fever-${suffix()}`;
  const prov = await api.post('/v1/providers', {
    name, url: `${feed.url}/fever-plans.xml`, format: 'fever-xml', interval_s: 3600, timeout_ms: 5000,
    timezone: 'Europe/Madrid', enabled: false,
  });
  const before = await api.get(`/v1/providers/${prov.id}/syncs`);
  if (before.items.length) throw new Error(`the disabled provider was pulled before the console asked: ${JSON.stringify(before.items)}`);

  await go(ctx, 'Providers', '#/providers');
  await row(page, [name, 'disabled']);
  await shots.take(page, 'providers');
  await click(page, 'link', name);
  await byRole(page, 'heading', name);
  const log = await byRole(page, 'region', 'Sync log');
  await waitForText(page, 'No pulls yet.', { root: log });
  await click(page, 'button', `Pull ${name} now`);
  // The sync log gets the console's pull: manual, HTTP 200, 3 plans seen, all new, 1 skipped.
  await row(page, ['manual', 'HTTP 200: 3 seen, 3 new, 0 changed, 1 skipped']);
  await noAlerts(page, 'after pulling the provider');
  await shots.take(page, 'provider-pulled');
  const syncs = (await api.get(`/v1/providers/${prov.id}/syncs`)).items;
  const got = syncs.map((x) => `${x.trigger}:${x.http_status}:${x.seen}/${x.new}/${x.skipped}:${x.error}`).join(',');
  if (got !== 'manual:200:3/3/1:null') throw new Error(`the sync log holds ${got}`);
}

// The overview once the other flows have left data: the job queue from
// /metrics and every provider the API lists in the provider health table.
async function overviewFlow(ctx) {
  const { page, api, shots } = ctx;
  await go(ctx, 'Overview', '#/overview');
  for (const heading of ['Activity per minute', 'Job queue', 'Provider health']) await byRole(page, 'heading', heading);
  await waitForText(page, 'Deliveries under way');
  const providers = (await api.get('/v1/providers?limit=1000')).items;
  if (providers.length === 0) await waitForText(page, 'No providers.');
  for (const p of providers) await row(page, [p.name]);
  await noAlerts(page, 'on the overview');
  await shots.take(page, 'overview-with-data');
}

async function docsFlow(ctx) {
  const { browser, monitor, shots } = ctx;
  const page = await browser.newPage();
  monitor.attach(page, 'docs');
  try {
    await page.setViewport({ width: 1280, height: 800 });
    const res = await page.goto(`${ctx.server.url}/docs`, { waitUntil: 'load' });
    if (res.status() !== 200) throw new Error(`/docs answered ${res.status()}`);
    // The reference renders the spec: its title, known operations and schemas.
    await byRole(page, 'heading', 'Daisy API reference');
    await waitForText(page, '/v1/forms/{id}/responses');
    await waitForText(page, 'Create an app');
    await waitForText(page, 'Pull a provider now');
    await waitForText(page, 'FormResponse');
    await shots.take(page, 'docs');
    // The contents filter, then a link to one operation, which scrolls to it.
    await fill(page, await control(page, 'Filter the contents'), 'sync');
    const op = await link(page, 'POST /v1/providers/{id}/sync');
    const hidden = await page.$(aria('link', 'POST /v1/apps'));
    if (hidden && await hidden.isVisible()) throw new Error('filtering the contents by "sync" still shows POST /v1/apps');
    await op.click();
    await page.waitForFunction(() => {
      const el = location.hash.length > 1 && document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return r.top >= -2 && r.top < window.innerHeight / 2 && el.innerText.includes('Pull a provider now');
    }, { timeout: WAIT, polling: 100 }).catch(() => {
      throw new Error('following the contents link to POST /v1/providers/{id}/sync did not bring that operation into view');
    });
    await shots.take(page, 'docs-operation');
  } catch (e) {
    await shots.take(page, 'FAILED-docs');
    throw e;
  } finally {
    await monitor.closeQuietly(page);
  }
}

async function phoneFlow(ctx) {
  const { browser, monitor, shots } = ctx;
  const page = await browser.newPage();
  monitor.attach(page, 'phone');
  try {
    await page.setViewport(PHONE);
    await signIn(ctx, page);
    await byRole(page, 'heading', 'Overview');
    await shots.take(page, 'phone-overview');
    // Every nav link can be reached: visible, or behind a menu button.
    for (const [name, hash] of [['Responses', '#/responses'], ['Providers', '#/providers'], ['Overview', '#/overview']]) {
      let a = await page.$(aria('link', name));
      if (!a || !(await a.isVisible())) {
        const menu = await byRole(page, 'button', 'Menu', { timeout: 2000 }).catch(() => null);
        if (!menu) throw new Error(`the nav link "${name}" is not visible at 390x844, and there is no "Menu" button`);
        await menu.click();
        a = await link(page, name);
      }
      await a.scrollIntoView();
      await a.click();
      await page.waitForFunction((h) => location.hash.startsWith(h), { timeout: WAIT }, hash);
      await byRole(page, 'heading', name);
      if (name === 'Providers') {
        await waitForText(page, /\d+ shown\./); // the table loaded
        await shots.take(page, 'phone-providers');
      }
    }
    // Nothing wider than the screen (no sideways scrolling of the page).
    const overflowNow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    let overflow = await overflowNow();
    if (overflow > 1) throw new Error(`the page is ${overflow} px wider than the phone's screen`);
    await shots.take(page, 'phone-nav');

    // An app's page access (its panel has the widest row: the key and two buttons) fits too.
    await page.evaluate(() => { location.hash = '#/apps'; });
    await byRole(page, 'heading', 'Apps');
    await click(await row(page, ['Page access']), 'button', 'Page access');
    await waitForText(page, 'Page access of ');
    overflow = await overflowNow();
    if (overflow > 1) throw new Error(`the Apps page with a page access panel is ${overflow} px wider than the phone's screen`);
    await shots.take(page, 'phone-apps-page-access');
  } catch (e) {
    await shots.take(page, 'FAILED-phone');
    throw e;
  } finally {
    await monitor.closeQuietly(page);
  }
}

export const FLOWS = [
  { name: 'sign-in', run: signInFlow },
  { name: 'apps', run: appsFlow },
  { name: 'forms', run: formsFlow },
  { name: 'responses-live-and-correction', run: responsesFlow },
  { name: 'retry-dead-job', run: jobsFlow },
  { name: 'session-events', run: eventsFlow },
  { name: 'provider-pull', run: providersFlow },
  { name: 'overview', run: overviewFlow },
  { name: 'docs', run: docsFlow, ownPage: true },
  { name: 'phone', run: phoneFlow, ownPage: true },
];
