// Debian's chromium, headless, driven by puppeteer-core (which never
// downloads a browser). Every page opened here records console errors,
// uncaught exceptions, CSP violations and any request to a host other than
// the app's origin, so each test can assert there were none.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SOURCE_DIR, screenshotDir } from './stack.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'web/package.json'));
const puppeteer = require('puppeteer-core');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const DESKTOP = { width: 1366, height: 900, deviceScaleFactor: 1 };
export const PHONE = { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

export function chromiumPath() {
  const candidates = [process.env.SAFESTREAM_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`chromium is not installed (tried ${candidates.join(', ')}); run deploy/local/install-deps.sh`);
  return found;
}

export async function launch() {
  const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', '--mute-audio',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--metrics-recording-only',
    '--disable-features=Translate,MediaRouter,OptimizationHints'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  // protocolTimeout bounds every DevTools call, the one a waitForSelector
  // waits in too: it must exceed the longest wait of a test (120 s), or that
  // wait ends at this bound with "Runtime.callFunctionOn timed out" (as CI
  // saw for a 90 s wait for "published").
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args, protocolTimeout: 150000 });
}

// A page with its watchers. origin: the app's http://127.0.0.1:port.
export async function openPage(browser, origin, viewport = DESKTOP, { context } = {}) {
  const ctx = context || await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport(viewport);
  const problems = { console: [], foreign: [], exceptions: [], failed: [] };
  const host = new URL(origin).host;
  // A failed response is logged by chromium as the console error "Failed to
  // load resource"; those are judged by their URL and status (below), every
  // other console error counts as it is.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.console.push(m.text());
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.failed.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on('requestfailed', (r) => problems.failed.push(`${r.failure()?.errorText || 'failed'} ${r.method()} ${r.url()}`));
  page.on('pageerror', (e) => problems.exceptions.push(e.message));
  page.on('request', (r) => {
    const u = r.url();
    if (u.startsWith('data:') || u.startsWith('blob:') || u === 'about:blank') return;
    try {
      const h = new URL(u).host;
      if (h !== host) problems.foreign.push(u);
    } catch { problems.foreign.push(u); }
  });
  page.problems = problems;
  page.ownContext = context ? null : ctx;
  page.origin = origin;
  page.setDefaultTimeout(20000);
  return page;
}

export async function closePage(page) {
  if (page.ownContext) await page.ownContext.close(); else await page.close();
}

// Opens #/view and waits until the app has rendered it.
export async function goto(page, hash) {
  const url = `${page.origin}/${hash}`;
  if (page.url().startsWith(page.origin + '/') && page.url() !== 'about:blank') {
    await page.evaluate((h) => { location.hash = h; }, hash);
  } else {
    await page.goto(url, { waitUntil: 'load' });
  }
  const view = hash.replace(/^#\/?/, '').split('?')[0] || 'map';
  await page.waitForFunction((v) => document.body.dataset.ready === 'true' && document.body.dataset.view === v, {}, view);
}

// axe-core in the page (evaluated through the DevTools protocol, which the
// page's CSP does not apply to); returns violations of impact serious or
// critical, each as "id: help (n nodes: selectors)".
export async function axe(page) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes: ${v.nodes.join(', ')})`);
}

export async function screenshot(page, name) {
  const file = path.join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

// Everything that went wrong in the page: console errors, exceptions,
// requests to other hosts, and failed requests not matching `allowed`
// (regular expressions for what a test provoked on purpose).
export function problemsOf(page, allowed = []) {
  const p = page.problems;
  // net::ERR_ABORTED: the app cancelled its own request (a newer map view
  // or filter replaced it).
  const ok = [/^net::ERR_ABORTED /, ...allowed];
  return [...p.console.map((c) => `console error: ${c}`), ...p.exceptions.map((e) => `exception: ${e}`),
    ...p.foreign.map((u) => `request to another host: ${u}`),
    ...p.failed.filter((f) => !ok.some((re) => re.test(f))).map((f) => `failed request: ${f}`)];
}

// Keyboard: presses Tab until the focused element matches the predicate
// (run in the page), at most `max` times; returns the number of presses.
export async function tabTo(page, predicateSource, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    // eslint-disable-next-line no-new-func
    const ok = await page.evaluate(`(() => { const el = document.activeElement; return Boolean(el && (${predicateSource})(el)); })()`);
    if (ok) return i + 1;
  }
  throw new Error(`no element matching ${predicateSource} within ${max} presses of Tab`);
}
