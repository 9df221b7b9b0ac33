// The web app's first load in Debian's chromium: compressed bytes on the
// wire (every response's encodedDataLength, as DevTools counts them),
// uncompressed bytes, the number of requests, and the time from navigation
// to the first map with its data drawn (performance mark
// "safestream:first-map-render", set by web/src/js/reports-view.js).
// The reference in the same run is the navigation to one small static file
// of the same server (img/icon.svg): the ratio is what compares across
// machines. Cold = a fresh browser profile; warm = the same profile again
// (ETag revalidation, 304s).
//   node bench/web/measure.mjs <origin> [runs]
import { launch, DESKTOP, PHONE } from '../../tests/browser/lib/browser.mjs';

const origin = process.argv[2];
const runs = Number(process.argv[3] || 5);

async function load(browser, ctx, url, viewport, waitMap) {
  const page = await ctx.newPage();
  await page.setViewport(viewport);
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  const sizes = new Map();
  let wire = 0, requests = 0;
  cdp.on('Network.responseReceived', (e) => sizes.set(e.requestId, e.response.encodedDataLength || 0));
  cdp.on('Network.dataReceived', (e) => { sizes.set(e.requestId + ':body', (sizes.get(e.requestId + ':body') || 0) + e.dataLength); });
  cdp.on('Network.loadingFinished', (e) => { wire += e.encodedDataLength; requests += 1; });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'load' });
  let firstMap = null;
  if (waitMap) {
    await page.waitForFunction(() => performance.getEntriesByName('safestream:first-map-render').length > 0, { timeout: 30000 });
    firstMap = await page.evaluate(() => performance.getEntriesByName('safestream:first-map-render')[0].startTime);
  }
  const nav = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; });
  await page.waitForNetworkIdle({ idleTime: 300, timeout: 10000 }).catch(() => {});
  const decoded = await page.evaluate(() => performance.getEntriesByType('resource').reduce((a, r) => a + (r.decodedBodySize || 0), 0)
    + (performance.getEntriesByType('navigation')[0].decodedBodySize || 0));
  await page.close();
  return { wire, decoded, requests, firstMap, nav, wall: Date.now() - t0 };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const max = (xs) => Math.max(...xs);

const browser = await launch();
const rows = [];
for (const [vpName, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  const cold = [], warm = [], ref = [];
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.createBrowserContext();
    ref.push(await load(browser, ctx, `${origin}/img/icon.svg`, vp, false));
    cold.push(await load(browser, ctx, `${origin}/#/map`, vp, true));
    warm.push(await load(browser, ctx, `${origin}/#/map`, vp, true));
    await ctx.close();
  }
  const refMs = median(ref.map((r) => r.nav));
  for (const [name, list] of [['cold', cold], ['warm', warm]]) {
    rows.push({ viewport: vpName, load: name, requests: median(list.map((r) => r.requests)), wire: median(list.map((r) => r.wire)),
      decoded: median(list.map((r) => r.decoded)), map: median(list.map((r) => r.firstMap)), mapMax: max(list.map((r) => r.firstMap)), refMs });
  }
}
await browser.close();

const kb = (b) => (b / 1024).toFixed(1);
console.log(`web app first load, ${runs} runs each (median; max of the first map render)`);
console.log('| viewport | load | requests | on the wire (compressed) | uncompressed | first map render | max | reference: one static file | ratio |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.viewport} | ${r.load} | ${r.requests} | ${kb(r.wire)} KiB | ${kb(r.decoded)} KiB | ${r.map.toFixed(0)} ms | ${r.mapMax.toFixed(0)} ms | ${r.refMs.toFixed(1)} ms | ${(r.map / Math.max(0.1, r.refMs)).toFixed(0)}× |`);
}
