// The harness of the console's browser test: a Daisy server on a free port with
// a throwaway data dir, a headless Chromium driven by puppeteer-core, an API
// client for fixtures and checks, small local HTTP servers the flows point
// Daisy at, and the capture of every browser error (console errors, page
// errors, failed requests, unexpected HTTP error statuses).

import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir, readdir } from 'node:fs/promises';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import puppeteer from 'puppeteer-core';

export const CHROMIUM = process.env.DAISY_TEST_CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

// The promise, or a rejection saying what took too long once ms have passed.
export function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// A port nobody listens on right now: bind port 0, read it, close.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value (which is returned) or the time is
// up; then throws with `what` and the last value or error seen. A bounded wait
// for something to happen, not a speed check.
export async function waitUntil(what, fn, { timeout = 15000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last seen: ${seen})`);
    }
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------
// The server

export async function startDaisy({ binary, consoleDir, adminToken }) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'daisy-browser-'));
  const port = await freePort();
  const args = ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--grpc-listen', '127.0.0.1:0',
    '--admin-token', adminToken,
    '--allow-private-targets', '--log-level', 'warn'];
  if (consoleDir) args.push('--console-dir', consoleDir);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk) => {
    log += chunk.toString();
    if (log.length > 200000) log = log.slice(-100000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    // Not started at all (not executable, missing): no 'exit' follows.
    child.on('error', (err) => {
      exited = { error: err.message };
      resolve(exited);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url, port, dataDir, child,
    log: () => log,
    exited: () => exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10000);
        await exitPromise;
        clearTimeout(t);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntil('GET /healthz to answer 200', async () => {
      if (exited) throw new Error(`daisy exited (${JSON.stringify(exited)}): ${log.slice(-2000)}`);
      const r = await fetch(`${url}/healthz`).catch(() => null);
      return r && r.status === 200;
    }, { timeout: 60000, interval: 100 });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

// ---------------------------------------------------------------------------
// The API, as curl would use it (Node's fetch, not the browser)

export class Api {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }

  // Sends a request and returns {status, body, headers}; throws unless the
  // status is one of `expect` (default: any 2xx).
  async call(method, p, { body, token = this.token, expect, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch(this.base + p, { method, headers: h, body: payload });
    const text = await r.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    const ok = expect ? [].concat(expect).includes(r.status) : r.status >= 200 && r.status < 300;
    if (!ok) throw new Error(`${method} ${p} answered ${r.status}: ${text.slice(0, 500)}`);
    return { status: r.status, body: parsed, headers: r.headers };
  }

  async get(p, o) { return (await this.call('GET', p, o)).body; }
  async post(p, body, o = {}) { return (await this.call('POST', p, { ...o, body })).body; }
  async put(p, body, o = {}) { return (await this.call('PUT', p, { ...o, body })).body; }
}

// ---------------------------------------------------------------------------
// Local HTTP servers the flows point Daisy at

// `handler(req, res, body)`; returns {url, requests, close()}.
export async function localServer(handler) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      Promise.resolve(handler(req, res, body)).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise((resolve) => {
      srv.closeAllConnections?.();
      srv.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------------------
// The browser and what goes wrong in it

export async function launchBrowser() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
      '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--metrics-recording-only',
      '--password-store=basic', '--use-mock-keychain', '--lang=en-US'],
    defaultViewport: DESKTOP,
    protocolTimeout: 60000,
  });
}

// Records every problem the browser shows, each under the flow running when it
// happened. A flow allows what it deliberately triggers with allow(): an HTTP
// status for a URL (and Chromium's console line about that very load).
export class Monitor {
  constructor() {
    this.current = 'start-up';
    this.problems = []; // {flow, kind, text}
    this.allowed = []; // {status, test(url), flow, used}
    this.quiet = new WeakSet(); // pages being closed or navigated away on purpose
  }

  begin(flow) {
    this.current = flow;
    this.allowed = [];
  }

  end(flow) {
    const mine = this.problems.filter((p) => p.flow === flow);
    this.current = 'between flows';
    this.allowed = [];
    return mine;
  }

  // Lets a response with `status` whose URL satisfies `match` (a substring or a
  // RegExp) through, during the current flow only.
  allow(status, match, why) {
    const test = typeof match === 'string' ? (u) => u.includes(match) : (u) => match.test(u);
    this.allowed.push({ status, test, why, flow: this.current });
  }

  // Ends what allow() let through.
  disallow() {
    this.allowed = [];
  }

  #isAllowed(status, url) {
    return this.allowed.some((a) => a.flow === this.current && a.status === status && a.test(url));
  }

  #add(kind, text) {
    this.problems.push({ flow: this.current, kind, text });
  }

  attach(page, label) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location() || {};
      const text = msg.text();
      // Chromium's own line for a load that answered an error status: allowed
      // when that response was.
      const m = /status of (\d{3})/.exec(text);
      if (m && loc.url && this.#isAllowed(Number(m[1]), loc.url)) return;
      const where = loc.url ? ` (${loc.url}${loc.lineNumber !== undefined ? `:${loc.lineNumber + 1}` : ''})` : '';
      this.#add('console error', `[${label}] ${text}${where}`);
    });
    page.on('pageerror', (err) => {
      this.#add('page error', `[${label}] ${err && err.stack ? err.stack : String(err)}`);
    });
    page.on('requestfailed', (req) => {
      const failure = req.failure();
      const reason = failure ? failure.errorText : 'unknown';
      // A long-lived request (the live stream) cut because the page is being
      // closed or left on purpose is not a failure.
      if (this.quiet.has(page) && reason === 'net::ERR_ABORTED') return;
      this.#add('request failed', `[${label}] ${req.method()} ${req.url()}: ${reason}`);
    });
    page.on('response', (res) => {
      const status = res.status();
      if (status < 400) return;
      const url = res.url();
      if (this.#isAllowed(status, url)) return;
      this.#add('HTTP error', `[${label}] ${res.request().method()} ${url} answered ${status}`);
    });
  }

  // Runs fn (a navigation away from what the page shows) without counting the
  // requests it cuts as failures.
  async leaving(page, fn) {
    this.quiet.add(page);
    try {
      return await fn();
    } finally {
      this.quiet.delete(page);
    }
  }

  // Closes a page without counting the requests this cuts as failures.
  async closeQuietly(page) {
    this.quiet.add(page);
    await page.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Screenshots

export class Screenshots {
  constructor(dir) {
    this.dir = dir;
    this.n = 0;
    this.written = [];
  }

  // Creates the directory and removes the screenshots of an earlier run (only
  // files named as this class names them), so that none is mistaken for this run's.
  async init() {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir)) {
      if (/^\d{2}-[\w-]+\.png$/.test(f)) await rm(path.join(this.dir, f), { force: true });
    }
  }

  // The whole page, or only the viewport when the page is very tall (the
  // API reference: a full capture of it takes Chromium many seconds).
  // Never throws: a screenshot that cannot be taken is reported, not fatal.
  async take(page, name) {
    this.n += 1;
    const file = path.join(this.dir, `${String(this.n).padStart(2, '0')}-${name}.png`);
    try {
      const tall = await page.evaluate(() => document.documentElement.scrollHeight).catch(() => 0);
      const fullPage = tall <= 6000;
      await page.screenshot({ path: file, fullPage, captureBeyondViewport: fullPage });
      this.written.push(file);
      return file;
    } catch (e) {
      console.log(`  (screenshot ${file} failed: ${e.message})`);
      return null;
    }
  }
}
