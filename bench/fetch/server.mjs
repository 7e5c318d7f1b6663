// The origin the fetch benchmark fetches (bench/fetch/run.sh): GET /small answers "ok", GET /64k 64 KiB.
//   node server.mjs PORT
import http from 'node:http';

const big = Buffer.alloc(64 << 10, 'x');
http.createServer((req, res) => {
  const body = req.url === '/64k' ? big : Buffer.from('ok');
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1');
