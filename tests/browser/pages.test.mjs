// Every page on a desktop and on a phone (390×844): it renders, nothing
// overflows the phone's width, axe-core finds no serious or critical
// violation, no console error, no request to another host. A screenshot of
// each is written to <build>/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, axe, screenshot, DESKTOP, PHONE } from './lib/browser.mjs';

let env, api, browser;
before(async () => {
  env = stackEnv();
  api = await startApi(env);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await api?.stop();
});

const VIEWS = ['map', 'report', 'alerts', 'live', 'dashboard'];

for (const [vpName, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`every page on a ${vpName}: usable, accessible, nothing from another host`, async () => {
    const page = await openPage(browser, api.url, viewport);
    const failures = [];
    for (const view of VIEWS) {
      await goto(page, `#/${view}`);
      await page.waitForNetworkIdle({ idleTime: 400, timeout: 20000 }).catch(() => {});
      if (view === 'dashboard') await page.waitForFunction(() => document.body.dataset.dashboardLoaded, { timeout: 20000 });
      if (view === 'map') await page.waitForFunction(() => document.body.dataset.reportsLoaded, { timeout: 20000 });
      await screenshot(page, `${view}-${vpName}`);
      const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      // A phone widens its layout viewport to fit content that is too wide,
      // so innerWidth grows too: compare both with the device's width.
      if (Math.max(width.scroll, width.inner) > viewport.width) failures.push(`${view}: the page is ${width.scroll}px wide (layout ${width.inner}px) on a ${viewport.width}px screen`);
      const heading = await page.$eval(`#view-${view} h1`, (h) => { const r = h.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
      if (!heading) failures.push(`${view}: the heading is not visible`);
      for (const v of await axe(page)) failures.push(`${view}: axe ${v}`);
    }
    for (const p of problemsOf(page)) failures.push(p);
    assert.deepEqual(failures, []);
    await closePage(page);
  });
}
