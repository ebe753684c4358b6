// The client in Debian's headless Chromium: test/page/index.html, served by a
// small static server on its own port (so another origin than Daisy's),
// loads daisy.js as a module and sends with the app's publishable key.

import {
  startWithApp, startPageServer, startProxy, checkStored, waitUntil, assert, assertEqual,
} from './lib.mjs';

// Opens the test page of `origin` in a new tab, its client set up with
// `opts`. Records the page's errors (`problems`) and its requests.
async function openPage(ctx, origin, d, opts = {}, target = null) {
  const page = await (target || await ctx.context()).newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on('request', (r) => requests.push(r));
  const q = new URLSearchParams({ host: d.url, key: d.key, opts: JSON.stringify(opts) });
  await page.goto(`${origin}/?${q}`);
  await page.waitForFunction('window.ready === true', { timeout: 15000 });
  const sessionId = await page.evaluate(() => window.client.sessionId);
  return { page, problems, requests, sessionId };
}

// Tracks events in the page through window.t; returns what was sent.
async function trackIn(page, events) {
  const sent = [];
  for (const [category, name, data] of events) {
    const id = await page.evaluate((c, n, x) => window.t(c, n, x), category, name, data);
    sent.push({ id, category, name, data });
  }
  return sent;
}

const toDaisy = (d, requests) => requests.filter((r) => r.url().startsWith(`${d.url}/v1/events`) && r.method() === 'POST');

async function crossOriginPage(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  const app = await d.patch({ allowed_origins: [site.origin] });
  assertEqual(app.allowed_origins, [site.origin], 'allowed_origins after PATCH');
  assert(new URL(site.origin).port !== new URL(d.url).port, 'the page is not on another origin');

  const { page, problems, requests, sessionId } = await openPage(ctx, site.origin, d, { flushAt: 100, flushIntervalMs: 3600000 });
  const replies = [];
  page.on('response', (r) => { if (r.url().startsWith(`${d.url}/v1/events`)) replies.push(r); });
  const sent = await trackIn(page, [
    ['page interaction', 'pageview', { host: 'shop.example.org', path: '/pricing' }],
    ['page interaction', 'click', { target: 'buy', n: 2 }],
    ['checkout', 'start', {}],
  ]);
  const r = await page.evaluate(() => window.f());
  assert(r.ok, `flush() in the page failed: ${JSON.stringify(r)}`);
  checkStored(await d.events(sessionId), sent, sessionId);

  const posts = toDaisy(d, requests);
  assertEqual(posts.length, 1, 'POSTs to /v1/events');
  const h = posts[0].headers();
  assertEqual(h.authorization, `Bearer ${d.key}`, 'Authorization header sent by the page');
  assertEqual(h['content-encoding'], 'gzip', 'Content-Encoding (Chromium has CompressionStream)');
  const post = await waitUntil('the reply to the POST', () => replies.find((x) => x.request().method() === 'POST'));
  assertEqual(post.status(), 202, 'status of the POST');
  assertEqual(post.headers()['access-control-allow-origin'], site.origin, 'Access-Control-Allow-Origin on the POST');
  await ctx.shots.take(page, 'allowed-origin');
  assertEqual(problems, [], 'browser problems on the allowed page');
}

async function originNotAllowed(ctx) {
  const d = await startWithApp(ctx);
  const allowed = await startPageServer();
  const other = await startPageServer();
  ctx.defer(allowed.close);
  ctx.defer(other.close);
  await d.patch({ allowed_origins: [allowed.origin] });

  // The preflight tells the browser: yes for the allowed origin, nothing for the other.
  const pre = (origin) => fetch(`${d.url}/v1/events`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,content-encoding' },
  });
  let res = await pre(allowed.origin);
  assertEqual(res.status, 204, 'preflight status for the allowed origin');
  assertEqual(res.headers.get('access-control-allow-origin'), allowed.origin, 'preflight Access-Control-Allow-Origin');
  const allowHeaders = (res.headers.get('access-control-allow-headers') || '').toLowerCase();
  for (const hdr of ['authorization', 'content-type', 'content-encoding', 'idempotency-key']) {
    assert(allowHeaders.includes(hdr), `preflight Access-Control-Allow-Headers lacks ${hdr}: ${allowHeaders}`);
  }
  res = await pre(other.origin);
  assertEqual(res.headers.get('access-control-allow-origin'), null, 'preflight Access-Control-Allow-Origin for another origin');

  const { page, sessionId } = await openPage(ctx, other.origin, d, { maxRetries: 1, retryBaseMs: 50, flushIntervalMs: 3600000 });
  await trackIn(page, [['page interaction', 'pageview', { host: 'shop.example.org', path: '/' }], ['x', 'y', {}]]);
  const r = await page.evaluate(() => window.f());
  assert(!r.ok, 'flush() from an origin that is not allowed succeeded');
  assertEqual([r.name, r.status], ['DaisyError', 0], 'the failure seen in the page (the browser refuses: no reply)');
  await ctx.shots.take(page, 'origin-not-allowed');
  assertEqual((await d.events(sessionId)).length, 0, 'events stored from the origin that is not allowed');

  // Without the browser's CORS check the server itself refuses the origin (403).
  res = await fetch(`${d.url}/v1/events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${d.key}`, 'Content-Type': 'application/json', Origin: other.origin },
    body: JSON.stringify({ events: [{ session_id: sessionId, category: 'x', name: 'y', data: {}, timestamp: new Date().toISOString() }] }),
  });
  assertEqual(res.status, 403, 'POST with a publishable key from an origin not allowed');
  // And a beacon (no preflight) from that page is refused too.
  const beaconReply = new Promise((resolve) => page.on('response', (x) => { if (x.url().includes('/v1/events?key=')) resolve(x.status()); }));
  await page.evaluate(() => window.hide());
  const status = await Promise.race([beaconReply, new Promise((resolve) => setTimeout(() => resolve('no reply seen'), 15000))]);
  assertEqual(status, 403, 'status of a beacon from an origin not allowed');
  assertEqual((await d.events(sessionId)).length, 0, 'events stored from the origin that is not allowed, after a beacon');
}

async function beaconOnHidden(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  await d.patch({ allowed_origins: [site.origin] });
  // Nothing sends on its own: only hiding the page does.
  const { page, problems, requests, sessionId } = await openPage(ctx, site.origin, d, { flushAt: 1000, flushIntervalMs: 3600000 });
  const sent = await trackIn(page, [['beacon', 'a', { i: 1 }], ['beacon', 'b', { i: 2 }], ['beacon', 'c', { i: 3 }]]);
  assertEqual(toDaisy(d, requests).length, 0, 'requests to Daisy before hiding');
  await page.evaluate(() => window.hide());
  const beacons = await page.evaluate(() => window.beacons);
  assertEqual(beacons.length, 1, 'sendBeacon calls');
  assertEqual(beacons[0].ok, true, 'sendBeacon queued the body');
  assertEqual(beacons[0].url, `${d.url}/v1/events?key=${d.key}`, 'beacon URL');
  assertEqual(beacons[0].type, 'text/plain', 'beacon body type');
  assertEqual(await page.evaluate(() => window.client.queued), 0, 'events left queued');
  checkStored(await d.waitForEvents(sessionId, 3), sent, sessionId);
  const ping = toDaisy(d, requests);
  assertEqual(ping.length, 1, 'requests to Daisy');
  assertEqual(ping[0].headers().authorization, undefined, 'Authorization header on the beacon');
  assertEqual(problems, [], 'browser problems');
}

async function beaconOnLeave(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  await d.patch({ allowed_origins: [site.origin] });
  // The page sends through a recording proxy: requests made while a page
  // unloads are not all reported to puppeteer.
  const proxy = await startProxy(d.url);
  ctx.defer(proxy.close);
  const { page, problems, sessionId } = await openPage(ctx, site.origin, { ...d, url: proxy.url },
    { flushAt: 1000, flushIntervalMs: 3600000 });
  const sent = await trackIn(page, [['leave', 'a', { i: 1 }], ['leave', 'b', { i: 2 }]]);
  assertEqual(proxy.batches().length, 0, 'requests to Daisy before leaving');
  await page.goto('about:blank'); // pagehide
  checkStored(await d.waitForEvents(sessionId, 2, 'the events queued when the page was left'), sent, sessionId);
  // Stored is not yet relayed: the proxy records the status once Daisy's
  // reply has reached it, which can come after the commit on a busy machine.
  await waitUntil('the proxy to relay the beacon\'s reply', async () =>
    proxy.batches().every((r) => r.status !== undefined || r.error !== undefined), { timeout: 20000, interval: 100 });
  const out = proxy.batches();
  assertEqual(out.map((r) => [r.url, r.headers['content-type'], r.headers.authorization, r.headers.origin, r.status]),
    [[`/v1/events?key=${d.key}`, 'text/plain', undefined, site.origin, 202]],
    'requests sent when the page was left (one sendBeacon)');
  assertEqual(out[0].json.events.map((e) => e.id), sent.map((s) => s.id), 'ids in the beacon');
  assertEqual(problems, [], 'browser problems');
}

async function beaconSplit(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  await d.patch({ allowed_origins: [site.origin] });
  // The timer is short so that whatever the browser will not take by beacon
  // (its keep-alive quota) is sent by the normal path afterwards.
  const { page, sessionId } = await openPage(ctx, site.origin, d, { flushAt: 1000, flushIntervalMs: 300 });
  const pad = 'x'.repeat(4000);
  const events = [];
  for (let i = 0; i < 40; i++) events.push(['split', `e${i}`, { i, pad }]);
  const sent = await page.evaluate((evs) => evs.map(([c, n, x]) => ({ id: window.client.track(c, n, x), category: c, name: n, data: x })), events);
  await page.evaluate(() => window.hide());
  const beacons = await page.evaluate(() => window.beacons);
  assert(beacons.length >= 3, `${beacons.length} sendBeacon call(s) for about 165 KB of events, expected the queue split`);
  for (const b of beacons) assert(b.size <= 65536, `a beacon body of ${b.size} bytes, over 64 KiB`);
  assert(beacons[0].ok, 'the first beacon was refused');
  checkStored(await d.waitForEvents(sessionId, 40, 'all 40 events stored'), sent, sessionId);
  await ctx.shots.take(page, 'beacon-split');
}

async function rateLimitedPage(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  await d.patch({ allowed_origins: [site.origin], rate_limit: { events_per_second: 1, burst: 2 } });
  // The back-off is a minute: within the wait below only Retry-After (which
  // the page can read only if Daisy exposes it to this origin) brings the retry.
  const { page, problems, sessionId } = await openPage(ctx, site.origin, d,
    { flushAt: 2, flushIntervalMs: 3600000, retryBaseMs: 60000, retryMaxMs: 60000 });
  const statuses = [];
  page.on('response', (r) => {
    if (r.url() === `${d.url}/v1/events` && r.request().method() === 'POST') statuses.push([r.status(), r.headers()['retry-after']]);
  });
  const sent = await trackIn(page, [['limited', 'a', { i: 1 }], ['limited', 'b', { i: 2 }], ['limited', 'c', { i: 3 }], ['limited', 'd', { i: 4 }]]);
  checkStored(await d.waitForEvents(sessionId, 4, 'all 4 events stored, the limited batch retried after Retry-After'), sent, sessionId);
  assert(statuses.some(([s, ra]) => s === 429 && /^\d+$/.test(ra || '')), `no 429 with Retry-After seen by the page: ${JSON.stringify(statuses)}`);
  await waitUntil('the page to see both batches accepted (202)', () => statuses.filter(([s]) => s === 202).length === 2);
  // Chromium logs the 429 itself; nothing else may go wrong.
  assertEqual(problems.filter((p) => !/status of 429/.test(p)), [], 'browser problems');
}

async function sessionPerTab(ctx) {
  const d = await startWithApp(ctx);
  const site = await startPageServer();
  ctx.defer(site.close);
  await d.patch({ allowed_origins: [site.origin] });
  const context = await ctx.context();
  const a = await openPage(ctx, site.origin, d, {}, context);
  await a.page.reload();
  await a.page.waitForFunction('window.ready === true', { timeout: 15000 });
  assertEqual(await a.page.evaluate(() => window.client.sessionId), a.sessionId, 'session id after a reload in the same tab');
  const b = await openPage(ctx, site.origin, d, {}, context);
  assert(b.sessionId !== a.sessionId, 'two tabs share a session id');
  const stored = await a.page.evaluate(() => sessionStorage.getItem('daisy_session_id'));
  assertEqual(stored, a.sessionId, 'session id in sessionStorage');
}

export const BROWSER_TESTS = [
  { name: 'browser.cross-origin-page', run: crossOriginPage },
  { name: 'browser.origin-not-allowed', run: originNotAllowed },
  { name: 'browser.beacon-when-hidden', run: beaconOnHidden },
  { name: 'browser.beacon-when-leaving', run: beaconOnLeave },
  { name: 'browser.beacon-split-64k', run: beaconSplit },
  { name: 'browser.rate-limit-retry-after', run: rateLimitedPage },
  { name: 'browser.session-per-tab', run: sessionPerTab },
].map((t) => ({ ...t, browser: true }));
