// Renders one of trtc-logwatch's own pages in the system chromium, headless,
// and prints what a person sees: {"status":N,"title":"...","text":"..."}
// (the page's visible text), and each SVG chart as the browser laid it out
// (its size, and each bar's x and height in pixels); with a second
// argument, saves a screenshot.
//
//   node page.mjs URL [SCREENSHOT.png]
import puppeteer from 'puppeteer-core';

const [url, shot] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 900 });
  // No request leaves for anything but the page itself: the page needs no
  // external asset, and one would show here as a failed request.
  const external = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (new URL(req.url()).origin === new URL(url).origin) return req.continue();
    external.push(req.url());
    return req.abort();
  });
  const resp = await page.goto(url, { waitUntil: 'load' });
  const out = {
    status: resp.status(),
    title: await page.title(),
    text: await page.evaluate(() => document.body.innerText),
    external,
    charts: await page.evaluate(() =>
      [...document.querySelectorAll('svg.chart')].map((svg) => {
        const box = svg.getBoundingClientRect();
        return {
          width: box.width,
          height: box.height,
          bars: [...svg.querySelectorAll('rect.bar')].map((r) => {
            const b = r.getBoundingClientRect();
            return { x: b.x - box.x, height: b.height };
          }),
        };
      }),
    ),
  };
  if (shot) await page.screenshot({ path: shot, fullPage: true });
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await browser.close();
}
