// A keep-alive https.Agent, N sequential GETs of URL/0..N-1; bodies to stdout.
// usage: node node_client.js URL CAFILE N
const https = require('https'); const fs = require('fs');
const ca = fs.readFileSync(process.argv[3]); const agent = new https.Agent({keepAlive: true});
let n = +process.argv[4], done = 0;
function one(i) { https.get(process.argv[2] + '/' + i, {ca, agent}, r => { let b=''; r.on('data', d => b += d); r.on('end', () => { process.stdout.write(b); if (++done < n) one(done); else agent.destroy(); }); }).on('error', e => { console.error(e); process.exit(1); }); }
one(0);
