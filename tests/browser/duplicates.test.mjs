// Two near-identical reports (same category, 25 m and a minute apart: inside
// the processor's dedupe radius and window) are posted by another client.
// The processor links the second to the first (duplicate_of); the first's
// detail lists the second as a link, which opens the second's detail, and
// that one links back to the first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stackEnv, startApi, startProcessor, uniqueChicagoPoint, postReport, reportStored } from './lib/stack.mjs';
import { launch, openPage, closePage, goto, problemsOf, screenshot, DESKTOP, PHONE } from './lib/browser.mjs';
import { metresNorth } from './lib/app.mjs';

let env, api, processor, browser;
before(async () => {
  env = stackEnv();
  processor = await startProcessor(env);
  api = await startApi(env);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await api?.stop();
  await processor?.stop();
});

const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString();

test('a report\'s detail links its near-duplicate, and the duplicate links back', async () => {
  const where = uniqueChicagoPoint();
  const tag = `browser-dup-${Date.now()}`;
  const first = await postReport(api.url, { category: 'burglary', description: `door forced ${tag}`,
    lat: where.lat, lon: where.lon, occurred_at: minutesAgo(6) });
  // Stored before the second is posted, so the processor sees it first.
  await reportStored(api.url, first.id);
  const second = await postReport(api.url, { category: 'burglary', description: `same break-in, seen from across the street ${tag}`,
    lat: metresNorth(where.lat, 25), lon: where.lon, occurred_at: minutesAgo(5) });
  await reportStored(api.url, second.id);
  const dup = await (await fetch(`${api.url}/v1/reports/${second.id}`)).json();
  assert.equal(dup.duplicate_of?.id, first.id, `the processor linked the second to the first: ${JSON.stringify(dup)}\n${processor.tail()}`);

  for (const [viewport, name] of [[DESKTOP, 'desktop'], [PHONE, 'phone']]) {
    const page = await openPage(browser, api.url, viewport);
    await goto(page, `#/map?report=${first.id}`);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id
      && !document.getElementById('report-detail').hidden, {}, first.id);
    const link = `#detail-dups a[data-report-id="${second.id}"]`;
    await page.waitForSelector(link, { timeout: 15000 });
    const heading = await page.$eval('#detail-dups h3', (h) => h.textContent);
    assert.match(heading, /also reported as/i);
    assert.equal(await page.$eval(link, (a) => a.getAttribute('href')), `#/map?report=${second.id}`);
    await screenshot(page, `map-detail-duplicates-${name}`);

    await page.click(link);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id, {}, second.id);
    assert.equal(await page.$eval('#detail-desc', (p) => p.textContent), `same break-in, seen from across the street ${tag}`);
    const back = `#detail-dups a[data-report-id="${first.id}"]`;
    await page.waitForSelector(back);
    assert.match(await page.$eval('#detail-dups h3', (h) => h.textContent), /first reported as/i);
    assert.ok(page.url().endsWith(`#/map?report=${second.id}`), `the address names the open report: ${page.url()}`);
    await page.click(back);
    await page.waitForFunction((id) => document.getElementById('report-detail').dataset.id === id, {}, first.id);
    assert.deepEqual(problemsOf(page), []);
    await closePage(page);
  }
});
