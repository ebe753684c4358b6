#!/usr/bin/env node
// Tests of the JS client (clients/js/daisy.js) against the real server.
//
//   node clients/js/test/run.mjs --binary build/asan/daisy [--screenshots DIR] [--only name,name]
//
// Each test starts its own Daisy (free port, throwaway data dir, random admin
// token) and creates an app through the API; the browser tests share one
// headless Chromium (/usr/bin/chromium, or DAISY_TEST_CHROMIUM), each in a
// fresh browser context. Prints PASS/FAIL per test, the errors in full, then
// `N passed, N failed`; exits 0 only when every test passed.

import path from 'node:path';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';

import { launchBrowser, Screenshots, CHROMIUM, withTimeout } from '../../../tests/browser/harness.mjs';
import { NODE_TESTS } from './node_tests.mjs';
import { BROWSER_TESTS } from './browser_tests.mjs';

const TEST_TIMEOUT_MS = 90000;

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--binary') o.binary = path.resolve(val());
    else if (a === '--screenshots') o.screenshots = path.resolve(val());
    else if (a === '--only') o.only = val().split(',');
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  if (opts.help || !opts.binary) {
    console.error('usage: node clients/js/test/run.mjs --binary <daisy> [--screenshots <dir>] [--only <test,...>]');
    return opts.help ? 0 : 2;
  }
  if (!existsSync(opts.binary)) {
    console.log(`FAIL setup: --binary ${opts.binary} does not exist`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  const started = Date.now();
  const shots = new Screenshots(opts.screenshots || await mkdtemp(path.join(os.tmpdir(), 'daisy-js-shots-')));
  await shots.init();

  let browser = null;
  const tests = [...NODE_TESTS, ...BROWSER_TESTS].filter((t) => !opts.only || opts.only.includes(t.name));
  const results = [];
  let current = null;
  const stopAll = async () => {
    if (current) await current.cleanup();
    if (browser) await browser.close().catch(() => {});
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => { stopAll().finally(() => process.exit(130)); });

  for (const test of tests) {
    const t0 = Date.now();
    const deferred = [];
    const contexts = [];
    const ctx = {
      binary: opts.binary,
      shots,
      servers: [],
      defer: (fn) => deferred.push(fn),
      // A fresh browser context (its own storage) in the shared browser.
      context: async () => {
        if (!browser) {
          if (!existsSync(CHROMIUM)) throw new Error(`Chromium ${CHROMIUM} does not exist`);
          browser = await launchBrowser();
        }
        const c = await browser.createBrowserContext();
        contexts.push(c);
        return c;
      },
      cleanup: async () => {
        for (const c of contexts.reverse()) await c.close().catch(() => {});
        for (const fn of deferred.reverse()) await Promise.resolve().then(fn).catch(() => {});
        for (const s of ctx.servers) await s.stop().catch(() => {});
      },
    };
    current = ctx;
    let error = null;
    let note = '';
    try {
      note = (await withTimeout(Promise.resolve().then(() => test.run(ctx)), TEST_TIMEOUT_MS, test.name)) || '';
    } catch (e) {
      error = e;
    }
    const servers = ctx.servers;
    for (const s of servers) {
      if (!error && s.exited()) error = new Error(`daisy exited during the test: ${JSON.stringify(s.exited())}\n${s.log().slice(-3000)}`);
    }
    await ctx.cleanup();
    current = null;
    // After the server stopped: LeakSanitizer reports at exit.
    for (const s of servers) {
      if (!error && /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/.test(s.log())) {
        error = new Error(`the server reported a sanitizer error:\n${s.log().slice(-6000)}`);
      }
      const ex = s.exited();
      if (!error && ex && (ex.code !== 0 || ex.signal)) error = new Error(`daisy ended with ${JSON.stringify(ex)}\n${s.log().slice(-3000)}`);
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (error) {
      console.log(`FAIL ${test.name} (${secs} s): ${error.message.split('\n')[0]}`);
    } else {
      console.log(`PASS ${test.name} (${secs} s)${note ? `: ${note}` : ''}`);
    }
    results.push({ name: test.name, ok: !error, error });
  }
  if (browser) await browser.close().catch(() => {});

  const failed = results.filter((r) => !r.ok);
  for (const r of failed) console.log(`\n--- ${r.name}\n${r.error.stack || r.error}`);
  console.log(`\nscreenshots: ${shots.written.length} in ${shots.dir}`);
  console.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`FAIL harness: ${e && e.stack ? e.stack : e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
