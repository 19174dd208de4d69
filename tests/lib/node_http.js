// node's own http client with a keep-alive Agent (maxSockets 1).
//
//   node node_http.js resp HOST PORT TARGET...
//     one request per target (METHOD:TARGET, default GET); one JSON line each:
//     status, the final response's Connection and Keep-Alive headers, the
//     1xx codes seen ('information' events), sha256 of the body, and how many
//     distinct sockets the agent has used so far.
//   node node_http.js leak HOST PORT N
//     N requests cycling GET, HEAD, POST to /leak/node/I, every body checked
//     against the server's deterministic body; one JSON line: requests,
//     failed, verified, close_seen (responses saying close), sockets (distinct sockets used), sockets_max (socket
//     descriptors of this process, highest seen), sockets_end.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const [mode, host, port, ...rest] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const seen = new Set();

function socketFds() {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try { if (fs.readlinkSync('/proc/self/fd/' + fd).startsWith('socket:')) n++; } catch (e) { /* gone */ }
  }
  return n;
}

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Length': body.length, 'Content-Type': 'text/plain' } : {};
    const info = [];
    const r = http.request({ host, port, method, path, agent, headers }, (res) => {
      seen.add(res.socket);
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ res, info, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    r.on('information', (i) => info.push(i.statusCode));
    r.setTimeout(10000, () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    if (body) r.write(body);
    r.end();
  });
}

async function resp(targets) {
  for (const t of targets) {
    const [method, path] = t.includes(':') ? t.split(/:(.*)/s) : ['GET', t];
    const { res, info, body } = await request(method, path);
    console.log(JSON.stringify({
      target: t, status: res.statusCode, connection: res.headers.connection || null,
      keepAlive: res.headers['keep-alive'] || null, info,
      sha256: crypto.createHash('sha256').update(body).digest('hex'), sockets: seen.size,
    }));
  }
}

async function leak(n) {
  let failed = 0, verified = 0, smax = 0, closeSeen = 0;
  const errors = [];
  for (let i = 0; i < n; i++) {
    const method = ['GET', 'HEAD', 'POST'][i % 3];
    const path = `/leak/node/${i}`;
    const body = method === 'POST' ? `k=${i}` : null;
    const want = `${method === 'HEAD' ? 'GET' : method} ${path} ${body ? body.length : 0}\n`;
    try {
      const { res, body: got } = await request(method, path, body);
      if ((res.headers.connection || '').toLowerCase().split(',').map((t) => t.trim()).includes('close')) closeSeen++;
      const ok = res.statusCode === 200 && (method === 'HEAD'
        ? got.length === 0 && res.headers['content-length'] === String(want.length)
        : got.toString('latin1') === want);
      if (ok) verified++;
      else { failed++; if (errors.length < 5) errors.push(`${method} ${path}: ${got.toString().slice(0, 80)}`); }
    } catch (e) {
      failed++;
      if (errors.length < 5) errors.push(`${method} ${path}: ${e}`);
    }
    smax = Math.max(smax, socketFds());
  }
  console.log(JSON.stringify({ mode: 'node', requests: n, failed, verified, close_seen: closeSeen, sockets: seen.size,
    sockets_max: smax, sockets_end: socketFds(), errors }));
}

(mode === 'leak' ? leak(Number(rest[0])) : resp(rest))
  .then(() => agent.destroy())
  .catch((e) => { console.error(e); process.exit(1); });
