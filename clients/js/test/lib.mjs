// Helpers of the JS client's tests: a Daisy server with an app, the app's
// events read back through the API, a recording (and connection-killing)
// HTTP proxy, and the static server of the browser test page.
//
// The server, the API client and the bounded waits are the console browser
// test's (tests/browser/harness.mjs).

import http from 'node:http';
import zlib from 'node:zlib';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

import { startDaisy, Api, waitUntil } from '../../../tests/browser/harness.mjs';

export { waitUntil };
export const here = path.dirname(fileURLToPath(import.meta.url));
export const CLIENT = path.join(here, '..', 'daisy.js');

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

// A fresh Daisy (free port, throwaway data dir, random admin token) with one
// app. `key` is the app's publishable key; the test fails here when the
// server has none (publishable keys are part of what is tested).
export async function startWithApp(ctx, name = 'js client test') {
  const adminToken = `adm_${randomBytes(18).toString('hex')}`;
  const server = await startDaisy({ binary: ctx.binary, adminToken });
  ctx.servers.push(server);
  const admin = new Api(server.url, adminToken);
  const app = await admin.post('/v1/apps', { name });
  assert(typeof app.publishable_key === 'string' && app.publishable_key.startsWith('dpk_'),
    `POST /v1/apps returned no publishable_key (dpk_...): this daisy binary lacks publishable keys (reply: ${JSON.stringify(app)})`);
  const d = {
    server, admin, app,
    url: server.url,
    key: app.publishable_key,
    appApi: new Api(server.url, app.token),
    // PATCH /v1/apps/{id}; returns the app's JSON.
    patch: async (body) => (await admin.call('PATCH', `/v1/apps/${app.id}`, { body })).body,
    // Every stored event of a session (all pages), read with the app's secret token.
    events: async (sessionId) => {
      const items = [];
      let after = null;
      do {
        const q = new URLSearchParams({ session_id: sessionId, limit: '1000' });
        if (after) q.set('after', after);
        const page = await d.appApi.get(`/v1/events?${q}`);
        items.push(...page.items);
        after = page.next_cursor;
      } while (after);
      return items;
    },
    // Waits until the session has `n` events stored; returns them.
    waitForEvents: (sessionId, n, what = `${n} events stored for session ${sessionId}`) =>
      waitUntil(what, async () => {
        const items = await d.events(sessionId);
        if (items.length > n) throw new Error(`${items.length} events stored, more than ${n}`);
        return items.length === n && items;
      }, { timeout: 20000, interval: 150 }),
  };
  return d;
}

// Checks that the stored events are exactly the sent ones, each once: same
// ids, category, name, data and session id.
export function checkStored(stored, sent, sessionId) {
  const byId = new Map();
  for (const e of stored) {
    assert(!byId.has(e.id), `event ${e.id} is stored twice`);
    byId.set(e.id, e);
  }
  assertEqual(stored.length, sent.length, 'number of stored events');
  for (const s of sent) {
    const e = byId.get(s.id);
    assert(e, `event ${s.id} (${s.category}/${s.name}) was not stored under its client-made id; stored ids: ${[...byId.keys()].join(', ')}`);
    assertEqual(e.category, s.category, `category of ${s.id}`);
    assertEqual(e.name, s.name, `name of ${s.id}`);
    assertEqual(e.data, s.data, `data of ${s.id}`);
    assertEqual(e.session_id, sessionId, `session_id of ${s.id}`);
  }
}

// Decodes a request body (gunzip when Content-Encoding says gzip), as JSON
// when it parses.
function decode(buf, headers) {
  let b = buf;
  if (/gzip/i.test(headers['content-encoding'] || '')) {
    try { b = zlib.gunzipSync(buf); } catch { return { bad: 'not gzip' }; }
  }
  try { return JSON.parse(b.toString()); } catch { return null; }
}

// An HTTP proxy to `target` that records each request (method, url, headers,
// decoded body `json`, then the upstream `status`, `replyHeaders`, `reply`).
// `kill(entry)` returning true forwards that request to the target, waits
// for the whole reply (so the server has done its work), then destroys the
// client's connection instead of passing the reply on. `answer(entry)`
// returning {status, headers, body} answers that request itself, not
// forwarding it.
export async function startProxy(target, { kill = () => false, answer = () => null } = {}) {
  const t = new URL(target);
  const log = [];
  const sockets = new Set();
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry = { method: req.method, url: req.url, headers: req.headers, json: decode(body, req.headers), body };
      log.push(entry);
      const own = answer(entry, log.length - 1);
      if (own) {
        Object.assign(entry, { status: own.status, replyHeaders: own.headers || {}, reply: own.body || '', answered: true });
        res.writeHead(own.status, own.headers || {});
        res.end(own.body || '');
        return;
      }
      const killIt = kill(entry, log.length - 1);
      const headers = { ...req.headers, host: t.host };
      delete headers.connection;
      delete headers['keep-alive'];
      const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers, agent: false },
        (ur) => {
          const rc = [];
          ur.on('data', (c) => rc.push(c));
          ur.on('end', () => {
            const reply = Buffer.concat(rc);
            Object.assign(entry, { status: ur.statusCode, replyHeaders: ur.headers, reply: reply.toString() });
            if (killIt) {
              entry.killed = true;
              req.socket.destroy();
              return;
            }
            const h = { ...ur.headers };
            delete h['transfer-encoding'];
            delete h.connection;
            h['content-length'] = reply.length;
            res.writeHead(ur.statusCode, h);
            res.end(reply);
          });
        });
      up.on('error', (e) => {
        entry.error = e.message;
        res.destroy();
      });
      up.end(body);
    });
  });
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${srv.address().port}`;
  return {
    url, log,
    // Requests to POST /v1/events only.
    batches: () => log.filter((e) => e.method === 'POST' && e.url.startsWith('/v1/events')),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
    }),
  };
}

// The static server of the browser test: `/` is test/page/index.html,
// `/daisy.js` the client, both read from disk on each request. Each instance
// listens on its own port, so is its own origin.
export async function startPageServer() {
  const files = {
    '/': [path.join(here, 'page', 'index.html'), 'text/html; charset=utf-8'],
    '/daisy.js': [CLIENT, 'text/javascript; charset=utf-8'],
  };
  const sockets = new Set();
  const srv = http.createServer(async (req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404);
      res.end();
      return;
    }
    try {
      const body = await readFile(f[0]);
      res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' });
      res.end(body);
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${srv.address().port}`;
  return {
    origin,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
    }),
  };
}
