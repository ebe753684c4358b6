#!/usr/bin/env node
// End-to-end test of the web console (/ui) and the API reference (/docs) in a
// headless Chromium, against a fresh Daisy server.
//
//   node tests/browser/console_test.mjs --binary build/asan/daisy --screenshots <dir>
//        [--console-dir web/console] [--fixtures tests/fixtures] [--only flow,flow]
//
// Prints one PASS/FAIL line per flow, then the first error in full; exits 0
// only when every flow passed. A screenshot of each page is written to
// --screenshots on every run, failing or not. See tests/browser/README.md.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

import { startDaisy, launchBrowser, Monitor, Screenshots, Api, DESKTOP, CHROMIUM, withTimeout } from './harness.mjs';
import { FLOWS } from './flows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FLOW_TIMEOUT_MS = 60000; // one flow at most (a passing run takes well under a minute in all)
// The whole run at most, so that it ends (and stops its server and browser)
// before CTest's TIMEOUT (300 s) would kill it: flows not started by then fail.
const RUN_BUDGET_MS = 240000;

function parseArgs(argv) {
  const o = { fixtures: path.join(here, '..', 'fixtures') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--binary') o.binary = val();
    else if (a === '--screenshots') o.screenshots = val();
    else if (a === '--console-dir') o.consoleDir = val();
    else if (a === '--fixtures') o.fixtures = val();
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
  if (opts.help || !opts.binary || !opts.screenshots) {
    console.error('usage: node tests/browser/console_test.mjs --binary <daisy> --screenshots <dir> ' +
      '[--console-dir <dir>] [--fixtures <dir>] [--only <flow,...>]');
    return opts.help ? 0 : 2;
  }
  for (const [what, p] of [['--binary', opts.binary], ['Chromium', CHROMIUM],
    ['--fixtures', path.join(opts.fixtures, 'fever-plans.xml')]]) {
    if (!existsSync(p)) {
      console.error(`FAIL setup: ${what} ${p} does not exist`);
      return 1;
    }
  }

  const started = Date.now();
  const adminToken = `adm_${randomBytes(18).toString('hex')}`;
  const shots = new Screenshots(path.resolve(opts.screenshots));
  await shots.init();
  const monitor = new Monitor();
  const results = [];
  let server = null;
  let browser = null;
  const cleanup = [];

  const finish = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop().catch(() => {});
  };
  // An interrupted run still stops the server and removes its data dir.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => { finish().finally(() => process.exit(130)); });
  }

  try {
    try {
      server = await startDaisy({ binary: path.resolve(opts.binary), consoleDir: opts.consoleDir, adminToken });
      browser = await launchBrowser();
    } catch (e) {
      results.push({ name: 'setup', ok: false, reason: e.message, error: e });
      return report(results, shots, started);
    }
    console.log(`daisy ${server.url} (data dir ${server.dataDir}), ${await browser.version()}` +
      `${opts.consoleDir ? `, console files from ${opts.consoleDir}` : ', embedded console files'}`);

    const page = await browser.newPage();
    await page.setViewport(DESKTOP);
    monitor.attach(page, 'console');
    const ctx = {
      server, browser, page, monitor, shots, adminToken, fixtures: opts.fixtures,
      api: new Api(server.url, adminToken),
      ui: `${server.url}/ui`,
      cleanup: (fn) => cleanup.push(fn),
    };

    for (const flow of FLOWS) {
      if (opts.only && !opts.only.includes(flow.name)) continue;
      const left = RUN_BUDGET_MS - (Date.now() - started);
      if (left < 5000) {
        const reason = `not run: the run's time budget of ${RUN_BUDGET_MS / 1000} s ran out`;
        console.log(`FAIL ${flow.name}: ${reason}`);
        results.push({ name: flow.name, ok: false, reason, full: reason });
        continue;
      }
      monitor.begin(flow.name);
      const t0 = Date.now();
      let error = null;
      try {
        await withTimeout(flow.run(ctx), Math.min(FLOW_TIMEOUT_MS, left), `the flow ${flow.name}`);
      } catch (e) {
        error = e;
        if (!flow.ownPage) await shots.take(page, `FAILED-${flow.name}`);
      }
      // Problems reported a moment late (a console line after the last await).
      await new Promise((r) => setTimeout(r, 150));
      const problems = monitor.end(flow.name);
      if (server.exited()) {
        error = error || new Error(`daisy exited: ${JSON.stringify(server.exited())}\n${server.log().slice(-3000)}`);
      }
      const ok = !error && problems.length === 0;
      let reason = '';
      let full = null;
      if (error) {
        reason = error.message.split('\n')[0];
        full = error.stack || String(error);
        if (problems.length) full += `\n\nBrowser problems during the flow:\n${problems.map((p) => `  ${p.kind}: ${p.text}`).join('\n')}`;
      } else if (problems.length) {
        reason = `${problems[0].kind}: ${problems[0].text.split('\n')[0]}` +
          (problems.length > 1 ? ` (+${problems.length - 1} more)` : '');
        full = problems.map((p) => `${p.kind}: ${p.text}`).join('\n');
      }
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(`${ok ? 'PASS' : 'FAIL'} ${flow.name} (${secs} s)${ok ? '' : `: ${reason}`}`);
      results.push({ name: flow.name, ok, reason, full });
    }
    const stray = monitor.problems.filter((p) => p.flow === 'between flows' || p.flow === 'start-up');
    if (stray.length) {
      const full = stray.map((p) => `${p.kind}: ${p.text}`).join('\n');
      console.log(`FAIL between-flows: ${stray[0].kind}: ${stray[0].text.split('\n')[0]}`);
      results.push({ name: 'between-flows', ok: false, reason: stray[0].text, full });
    }
  } catch (e) {
    results.push({ name: 'harness', ok: false, reason: e.message, full: e.stack });
    console.log(`FAIL harness: ${e.message}`);
  } finally {
    if (server && server.exited()) {
      console.log(`daisy exited during the run: ${JSON.stringify(server.exited())}`);
    }
    await finish();
    // After the server stopped: LeakSanitizer reports at exit.
    if (server && /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/.test(server.log())) {
      results.push({ name: 'server-sanitizer', ok: false, reason: 'the server reported a sanitizer error',
        full: server.log().slice(-6000) });
      console.log('FAIL server-sanitizer: the server reported a sanitizer error');
    }
    const ex = server && server.exited();
    if (ex && (ex.code !== 0 || ex.signal)) {
      const reason = ex.signal === 'SIGKILL' ? 'daisy did not stop within 10 s of SIGTERM'
        : `daisy ended with ${JSON.stringify(ex)}`;
      results.push({ name: 'server-exit', ok: false, reason, full: `${reason}\n${server.log().slice(-3000)}` });
      console.log(`FAIL server-exit: ${reason}`);
    }
  }
  return report(results, shots, started);
}

function report(results, shots, started) {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (results.length === 1 && results[0].name === 'setup') {
    console.log(`FAIL setup: ${results[0].reason}`);
  }
  const first = results.find((r) => !r.ok);
  if (first) {
    console.log(`\nFirst error (${first.name}):\n${first.full || (first.error && first.error.stack) || first.reason}\n`);
  }
  console.log(`screenshots: ${shots.written.length} in ${shots.dir}`);
  console.log(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(`FAIL harness: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
