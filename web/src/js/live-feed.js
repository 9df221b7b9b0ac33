// The live alert feed of one subscription, written so a dropped connection
// or a sleeping laptop loses nothing and shows nothing twice:
//   1. the history (GET /v1/subscriptions/{id}/alerts, oldest first, paged
//      by next_cursor) fills the feed;
//   2. the WebSocket (/v1/subscriptions/{id}/live?after=<last cursor>) then
//      sends every alert after the newest one seen; the server replays what
//      was published in between (Redis stream ids are the cursors);
//   3. on close it reconnects with backoff (1 s doubling to 30 s, with
//      jitter), at once when the browser comes back online or the page
//      becomes visible, always with ?after= of the newest cursor seen;
//   4. alerts are kept by cursor, so a replayed one replaces itself.
// The browser's WebSocket cannot send an Authorization header, so the token
// goes in ?token= (the API accepts both; the connection is same-origin).
import { compareCursor } from './store.js';

const HISTORY_PAGE = 1000;
const HISTORY_MAX_PAGES = 5;

export class LiveFeed {
  // onAlert(alert, {live}) for each alert not seen before; onState(state)
  // with 'connecting' | 'live' | 'retrying' | 'paused' | 'gone'.
  constructor({ id, token, cursor = null, onAlert, onState, fetchJson, WebSocketImpl = globalThis.WebSocket, origin = globalThis.location }) {
    Object.assign(this, { id, token, onAlert, onState, fetchJson, WebSocketImpl, origin });
    this.cursor = cursor;
    this.seen = new Set();
    this.ws = null;
    this.stopped = true;
    this.retries = 0;
    this.timer = null;
    this.state = 'paused';
  }

  setState(s, detail) { this.state = s; this.onState?.(s, detail); }

  accept(alert, live) {
    const key = alert.cursor || alert.alert_id;
    if (!key || this.seen.has(key)) return false;
    this.seen.add(key);
    if (alert.cursor && (!this.cursor || compareCursor(alert.cursor, this.cursor) > 0)) this.cursor = alert.cursor;
    this.onAlert?.(alert, { live });
    return true;
  }

  async start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.setState('connecting');
    try {
      await this.loadHistory();
    } catch (e) {
      if (e && [401, 403, 404].includes(e.status)) { this.stopped = true; this.setState('gone', e.message); return; }
      // History unavailable: the socket still delivers what comes next.
    }
    if (!this.stopped) this.connect();
  }

  async loadHistory() {
    let after = null;
    for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
      const q = new URLSearchParams({ limit: String(HISTORY_PAGE) });
      if (after) q.set('after', after);
      const res = await this.fetchJson(`/v1/subscriptions/${this.id}/alerts?${q}`, this.token);
      const alerts = (res && res.alerts) || [];
      for (const a of alerts) this.accept(a, false);
      if (alerts.length < HISTORY_PAGE || !res.next_cursor || res.next_cursor === after) break;
      after = res.next_cursor;
    }
  }

  url() {
    const proto = this.origin.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ token: this.token });
    // "0" (the stream's start) when nothing was seen yet: an alert published
    // between the history read and this connection is then replayed too.
    q.set('after', this.cursor || '0');
    return `${proto}//${this.origin.host}/v1/subscriptions/${this.id}/live?${q}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.ws) return;
    this.setState(this.retries ? 'retrying' : 'connecting');
    const ws = new this.WebSocketImpl(this.url());
    this.ws = ws;
    ws.onopen = () => { this.retries = 0; this.setState('live'); };
    ws.onmessage = (ev) => {
      let a;
      try { a = JSON.parse(ev.data); } catch { return; }
      if (a && typeof a === 'object') this.accept(a, true);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      if (this.stopped) return;
      this.retries += 1;
      const base = Math.min(30000, 1000 * 2 ** Math.min(this.retries - 1, 5));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.setState('retrying', delay);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  // The network is back or the page is visible again: retry now rather
  // than at the end of the backoff.
  nudge() {
    if (!this.stopped && !this.ws) { this.retries = Math.max(0, this.retries - 1); this.connect(); }
  }

  stop(state = 'paused') {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) { const ws = this.ws; this.ws = null; ws.onclose = null; ws.close(1000); }
    this.setState(state);
  }
}
