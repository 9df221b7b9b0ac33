// What a user does in the app, as puppeteer steps: real mouse clicks on the
// map at a place, typing, choosing. Reading state goes through the DOM.

// Moves a view's map to a place (as a user panning there would) and
// returns the page coordinates of that place.
export async function showOnMap(page, which, lat, lon, zoom = 16) {
  await page.evaluate((w, la, lo, z) => { window.SafeStream.maps[w].setView([la, lo], z, { animate: false }); }, which, lat, lon, zoom);
  return pointOf(page, which, lat, lon);
}

export async function pointOf(page, which, lat, lon) {
  return page.evaluate((w, la, lo) => {
    const map = window.SafeStream.maps[w];
    const p = map.latLngToContainerPoint([la, lo]);
    const r = map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, which, lat, lon);
}

export async function clickMapAt(page, which, lat, lon) {
  const p = await pointOf(page, which, lat, lon);
  await page.mouse.click(p.x, p.y);
}

export const metresNorth = (lat, m) => lat + m / 111320;
export const metresEast = (lat, lon, m) => lon + m / (111320 * Math.cos((lat * Math.PI) / 180));

export async function feedCount(page, reportId) {
  return page.$$eval(`#live-feed li[data-report-id="${reportId}"]`, (els) => els.length);
}

export async function connState(page, subId) {
  return page.$eval(`#live-conns li[data-id="${subId}"]`, (li) => li.dataset.state).catch(() => null);
}
