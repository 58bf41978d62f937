// Runs the real TRTC Web SDKs (npm trtc-js-sdk 4.x and trtc-sdk-v5 5.x) in
// the system chromium, headless and offline, through scenarios that make
// them fail (wrong parameters, calls in the wrong state, no camera or
// microphone, a room that cannot be reached), and prints every console
// record they produce as one JSON line: {"sdk":"v5","level":"error",
// "text":"...","raw":"..."}. `text` is the record whole, newlines included,
// with its format applied and the console's style arguments (`%c`) left
// out, as an app that forwards console records writes it; `raw` is what
// the DevTools protocol reports (the format string and its arguments
// joined, style text and all), as a naive forwarder writes it.
//
//   node capture.mjs [all|old|SDK,...] > records.ndjson
//
// SDKs: v4 and v5 (the pinned trtc-js-sdk 4.15 and trtc-sdk-v5 5.17, `all`),
// v4-4.10 and v5-5.8 (trtc-js-sdk 4.10.2, whose upload carries the
// placeholder sdkappid=1, and trtc-sdk-v5 5.8.6: `old`), npm aliases in
// package.json. Each record's `sdk` is the SDK's id.
//
// With LOGGER_PROXY=URL the SDKs also upload their own log there (v5
// `setLogLevel(1, true)` and `proxy.loggerProxy` in `enterRoom`, v4
// `Logger.enableUploadLog()` and `setProxyServer({ loggerProxy })`), as an
// app that points them at trtc-logwatch's browser endpoint does; the pages
// then wait for the SDKs' last upload. PAGE_PORT fixes the pages' port (the
// origin the endpoint allows), PAGE_HOSTS (default 127.0.0.1; `localhost`
// for another origin) lists the hosts each SDK's page is loaded from.
//
// Nothing leaves the machine: every request but the page's own is refused
// (the v4 SDK's error-message script is answered with an empty script, as
// it stops without one), and host names do not resolve.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const which = process.argv[2] || 'all';
const loggerProxy = process.env.LOGGER_PROXY || '';
const pagePort = Number(process.env.PAGE_PORT || 0);
const pageHosts = (process.env.PAGE_HOSTS || '127.0.0.1').split(',');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

const sdks = {
  v4: 'trtc-js-sdk',
  v5: 'trtc-sdk-v5',
  'v4-4.10': 'trtc-js-sdk-4.10',
  'v5-5.8': 'trtc-sdk-v5-5.8',
};
const sets = { all: ['v4', 'v5'], old: ['v4-4.10', 'v5-5.8'] };
const chosen = sets[which] || which.split(',');
for (const id of chosen) {
  if (!sdks[id]) throw new Error(`unknown SDK ${id}: one of ${Object.keys(sdks).join(', ')}`);
}
const files = { '/scenarios.js': path.join(here, 'scenarios.js') };
for (const [id, pkg] of Object.entries(sdks)) {
  files[`/${id}.js`] = path.join(here, 'node_modules', pkg, 'trtc.js');
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    const sdk = url.searchParams.get('sdk');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><meta charset="utf-8"></head><body><div id="view"></div>
<script src="/${sdk}.js"></script><script src="/scenarios.js"></script></body></html>`);
    return;
  }
  const f = files[url.pathname];
  if (!f) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
  fs.createReadStream(f).pipe(res);
});
await new Promise((r) => server.listen(pagePort, '127.0.0.1', r));
const port = server.address().port;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
  ],
});

/** The record as an app's console forwarder writes it: format arguments
 * applied, style arguments (`%c`) dropped. */
async function recordText(msg) {
  const args = msg.args();
  const values = [];
  for (const a of args) {
    try {
      values.push(await a.evaluate((v) => {
        if (v instanceof Error) return String(v.stack || v);
        if (typeof v === 'object' && v !== null) {
          try { return JSON.stringify(v); } catch { return String(v); }
        }
        return String(v);
      }));
    } catch {
      values.push('');
    }
  }
  if (values.length === 0) return msg.text();
  let [fmt, ...rest] = values;
  if (!/%[csdoOif]/.test(fmt)) return [fmt, ...rest].join(' ');
  let out = fmt.replace(/%([csdoOif])/g, (_, k) => {
    const v = rest.shift();
    return k === 'c' ? '' : v ?? '';
  });
  return [out, ...rest].join(' ');
}

async function run(sdk, host) {
  const origin = `http://${host}:${port}`;
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith(origin)) return req.continue();
    if (loggerProxy && url.startsWith(loggerProxy)) return req.continue();
    if (url.includes('/error-message/')) {
      return req.respond({ status: 200, contentType: 'text/javascript', body: '' });
    }
    return req.abort('internetdisconnected');
  });
  const pending = [];
  page.on('console', (msg) => {
    pending.push(recordText(msg).then((text) => ({ sdk, host, level: msg.type(), text, raw: msg.text() })));
  });
  let finished;
  const done = new Promise((resolve) => {
    finished = resolve;
  });
  await page.exposeFunction('scenariosDone', () => finished());
  await page.exposeFunction('loggerProxy', () => loggerProxy);
  await page.goto(`${origin}/?sdk=${sdk}`);
  let timer;
  const how = await Promise.race([
    done.then(() => 'done'),
    new Promise((r) => {
      timer = setTimeout(() => r('timed out'), 120000);
    }),
  ]);
  clearTimeout(timer);
  if (how !== 'done') process.stderr.write(`${sdk}: scenarios ${how}\n`);
  const records = await Promise.all(pending);
  for (const r of records) {
    process.stdout.write(JSON.stringify(r) + '\n');
  }
  await page.close();
}

try {
  for (const host of pageHosts) {
    for (const sdk of chosen) {
      await run(sdk, host);
    }
  }
} finally {
  await browser.close();
  server.closeAllConnections();
  server.close();
}
