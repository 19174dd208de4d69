// Sequential requests over a keep-alive Agent: node node_client.js HOST PORT
'use strict';
const http = require('http');
const [host, port] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function req(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host, port, method, path, agent, headers }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        console.log(method, path, res.statusCode, Buffer.concat(parts).toString().slice(0, 60));
        res.statusCode === 200 ? resolve() : reject(new Error('status ' + res.statusCode));
      });
    });
    r.setTimeout(30000, () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    if (Array.isArray(body)) body.forEach((b) => r.write(b));   // chunked
    else if (body) r.write(body);
    r.end();
  });
}

(async () => {
  await req('GET', '/node/1');
  await req('POST', '/node/post', 'x=1', { 'Content-Length': 3, 'Content-Type': 'text/plain' });
  await req('POST', '/node/chunked', ['part1,', 'part2']);
  await req('GET', '/node/4', null, { 'Keep-Alive': 'timeout=5' });
  agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
