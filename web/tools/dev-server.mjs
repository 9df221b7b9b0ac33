// Front-end development without rebuilding the API: serves a staged web
// folder and forwards /v1, /open311, /openapi.yaml (and WebSocket upgrades)
// to a running safestream-api, with the same strict CSP the API sends.
//   node web/tools/dev-server.mjs <web dir> <api base url> [port]
// Not used by the tests (they go through safestream-api --web-root).
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const [root, apiBase, portArg] = process.argv.slice(2);
if (!root || !apiBase) { console.error('usage: dev-server.mjs <web dir> <api url> [port]'); process.exit(2); }
const api = new URL(apiBase);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };
const CSP = "default-src 'self'; img-src 'self' data:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const proxied = (u) => u.startsWith('/v1/') || u.startsWith('/open311/') || u === '/openapi.yaml' || u === '/healthz';

const server = http.createServer((req, res) => {
  if (proxied(req.url)) {
    const up = http.request({ host: api.hostname, port: api.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers); r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
    return;
  }
  let p = decodeURIComponent(req.url.split('?')[0]);
  if (p.endsWith('/')) p += 'index.html';
  const file = path.join(path.resolve(root), path.normalize(p));
  if (!file.startsWith(path.resolve(root))) { res.writeHead(403); res.end(); return; }
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
    res.end(data);
  });
});
server.on('upgrade', (req, socket, head) => {
  const up = net.connect(api.port, api.hostname, () => {
    up.write(`${req.method} ${req.url} HTTP/1.1\r\n` + Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n') + '\r\n\r\n');
    up.write(head);
    up.pipe(socket); socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});
server.listen(Number(portArg || 0), '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`));
