#!/usr/bin/env node
// End-to-end check of the portal-gateway playground in headless Chromium.
//
//   node playground/e2e/browser.mjs <baseUrl> <personaEmail>
//
// Opens <baseUrl>, waits for GraphiQL, picks the persona whose <option>
// value contains <personaEmail> (pass "anonymous" to keep the anonymous
// one), clicks GraphiQL's execute button and waits for a result containing
// "data". Prints one line of JSON to stdout:
//   {"ok":true,"blocked":N,"result":"...","persona":"..."}   exit 0
//   {"ok":false,"error":"..."}                                 exit 1
// Every request to a host other than 127.0.0.1 / localhost / [::1] is
// aborted and counted in "blocked" (their URLs go to stderr).
//
// Environment: CHROMIUM (default /usr/bin/chromium), E2E_SCREENSHOT (path of
// a PNG to write), E2E_TIMEOUT_MS (default 60000), E2E_TAB (the editor tab to
// run, 1-based; default 1), E2E_WAIT_FOR (text the result must come to hold,
// e.g. an event kind a subscription delivers; default: any response).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 60000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = process.env.E2E_SCREENSHOT || '';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TAB = Number(process.env.E2E_TAB || 1);
const WAIT_FOR = process.env.E2E_WAIT_FOR || '';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

let finished = false;
let context = null;
let userDataDir = null;
const blockedUrls = [];
const pageErrors = [];

function log(...args) {
  console.error('[e2e]', ...args);
}

async function cleanup() {
  const ctx = context;
  context = null;
  if (ctx) {
    await Promise.race([
      ctx.close().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
  }
  if (userDataDir) {
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    userDataDir = null;
  }
}

async function finish(report, code) {
  if (finished) return;
  finished = true;
  if (blockedUrls.length) log('blocked non-local requests:', blockedUrls.join(' '));
  if (code !== 0 && pageErrors.length) log('page errors:', pageErrors.join(' | '));
  await cleanup();
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(code));
}

async function fail(err) {
  if (SCREENSHOT && context) {
    const page = context.pages()[0];
    if (page) await page.screenshot({ path: SCREENSHOT }).catch(() => {});
  }
  const error = err && err.message ? err.message.split('\n')[0] : String(err);
  return finish({ ok: false, error, blocked: blockedUrls.length }, 1);
}

function isLocal(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  return LOCAL_HOSTS.has(u.hostname.toLowerCase());
}

// Text of GraphiQL's response pane (runs in the page, so self-contained).
// GraphiQL 3 uses CodeMirror 5, which only renders the visible lines, so read
// the editor's value when it is reachable. With `wait` ({before}), returns
// false until the pane holds a new response (or one containing "data"), for
// waitForFunction.
function readResult(wait) {
  const pane = document.querySelector('.graphiql-response .result-window') ||
    document.querySelector('.result-window') ||
    document.querySelector('.graphiql-response');
  let text = '';
  if (pane) {
    const cm = pane.querySelector('.CodeMirror');
    text = cm && cm.CodeMirror && typeof cm.CodeMirror.getValue === 'function'
      ? cm.CodeMirror.getValue()
      : pane.innerText || '';
  }
  if (wait && wait.text) return text.includes(wait.text) ? text : false;
  if (wait) return text.includes('"data"') || (text.trim() && text !== wait.before) ? text : false;
  return text;
}

async function main() {
  const [baseUrl, email] = process.argv.slice(2);
  if (!baseUrl || !email) {
    throw new Error('usage: node playground/e2e/browser.mjs <baseUrl> <personaEmail|anonymous>');
  }
  const deadline = Date.now() + TIMEOUT_MS;
  const remaining = () => Math.max(1000, deadline - Date.now());

  const { chromium } = require('playwright-core');
  userDataDir = await mkdtemp(join(tmpdir(), 'pg-e2e-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: remaining(),
  });
  context.setDefaultTimeout(remaining());

  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    blockedUrls.push(url);
    return route.abort('blockedbyclient');
  });

  const page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });

  const response = await page.goto(baseUrl, { waitUntil: 'load', timeout: remaining() });
  if (!response || !response.ok()) {
    throw new Error(`GET ${baseUrl} answered ${response ? response.status() : 'nothing'}`);
  }

  await page.locator('.graphiql-container').first().waitFor({ state: 'visible', timeout: remaining() });
  await page.locator('.graphiql-execute-button').first().waitFor({ state: 'visible', timeout: remaining() });

  // Pick the persona.
  const select = page.locator('#persona');
  let personaLabel = 'anonymous';
  // The persona the page opened as, before any pick.
  const opened = (await select.isVisible()) ? await select.locator('option:checked').textContent() : 'anonymous';
  const wantAnonymous = email === 'anonymous' || email === '-';
  if (!wantAnonymous) {
    if (!(await select.isVisible())) {
      throw new Error('persona switcher not shown (is /dev/personas served? is the server in development mode?)');
    }
    const options = await select.locator('option').evaluateAll((opts) =>
      opts.map((o) => ({ value: o.value, label: o.textContent })));
    const wanted = options.find((o) => o.value && o.value.includes(email));
    if (!wanted) {
      throw new Error(`no persona matching ${email}; options: ${options.map((o) => o.value || '(anonymous)').join(', ')}`);
    }
    const current = await select.inputValue();
    if (current !== wanted.value) {
      // Tag the mounted GraphiQL so we can wait for the remount (key change).
      await page.evaluate(() => {
        document.querySelector('.graphiql-container').setAttribute('data-e2e-stale', '');
      });
      await select.selectOption(wanted.value);
      await page.waitForSelector('.graphiql-container:not([data-e2e-stale])', { timeout: remaining() });
    }
    personaLabel = wanted.label;
  } else if (await select.isVisible()) {
    if ((await select.inputValue()) !== '') {
      await page.evaluate(() => {
        document.querySelector('.graphiql-container').setAttribute('data-e2e-stale', '');
      });
      await select.selectOption('');
      await page.waitForSelector('.graphiql-container:not([data-e2e-stale])', { timeout: remaining() });
    }
    personaLabel = await select.locator('option:checked').textContent();
  }

  // Run the query of the chosen tab.
  if (TAB > 1) {
    await page.locator('.graphiql-tab-button').nth(TAB - 1).click({ timeout: remaining() });
  }
  const before = await page.evaluate(readResult, null);
  if (before.includes('"data"')) {
    throw new Error('result pane already shows data before execution');
  }
  await page.locator('.graphiql-execute-button').first().click({ timeout: remaining() });
  const handle = await page
    .waitForFunction(readResult, { before, text: WAIT_FOR }, { timeout: remaining(), polling: 100 })
    .catch(async (err) => {
      const text = await page.evaluate(readResult, null).catch(() => '');
      throw new Error(`no response in the result pane (${err.message.split('\n')[0]}); pane: ${text.replace(/\s+/g, ' ').slice(0, 500)}`);
    });
  const result = await handle.jsonValue();
  if (!result.includes('"data"')) {
    let compact = result;
    try {
      compact = JSON.stringify(JSON.parse(result));
    } catch {
      compact = result.replace(/\s+/g, ' ');
    }
    throw new Error(`response without "data": ${compact.slice(0, 1000)}`);
  }

  if (SCREENSHOT) {
    await page.screenshot({ path: SCREENSHOT, timeout: remaining() });
    log('screenshot written to', SCREENSHOT);
  }

  await finish({ ok: true, blocked: blockedUrls.length, result, persona: personaLabel, opened }, 0);
}

const timer = setTimeout(() => {
  fail(new Error(`timed out after ${TIMEOUT_MS} ms`));
}, TIMEOUT_MS);
timer.unref();

process.on('unhandledRejection', (err) => fail(err));
main().catch((err) => fail(err));
