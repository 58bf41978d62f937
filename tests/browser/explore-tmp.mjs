import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
const B='/work/main/tests/browser';
const files = { '/v4.js': B+'/node_modules/trtc-js-sdk/trtc.js', '/v5.js': B+'/node_modules/trtc-sdk-v5/trtc.js', '/s.js': '/tmp/explore/s.js' };
const got=[];
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/proxy')) {
    let body=[]; req.on('data',c=>body.push(c)); req.on('end',()=>{
      got.push({method:req.method,url:req.url,headers:req.headers,body:Buffer.concat(body).toString('utf8')});
      res.writeHead(200,{'access-control-allow-origin':'*','content-type':'application/json'}); res.end('{}');});
    return;
  }
  if (url.pathname === '/') { const sdk=url.searchParams.get('sdk'); res.writeHead(200,{'content-type':'text/html'}); res.end(`<!doctype html><html><head><meta charset="utf-8"></head><body><div id="view"></div><script src="/${sdk}.js"></script><script src="/s.js"></script></body></html>`); return; }
  const f=files[url.pathname]; if(!f){res.writeHead(404);res.end();return;}
  res.writeHead(200,{'content-type':'text/javascript'}); fs.createReadStream(f).pipe(res);
});
await new Promise(r=>server.listen(0,'127.0.0.1',r));
const origin=`http://127.0.0.1:${server.address().port}`;
const browser = await puppeteer.launch({executablePath:'/usr/bin/chromium',headless:true,args:['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync','--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']});
for (const sdk of process.argv[2] ? [process.argv[2]] : ['v5','v4']) {
  const page=await browser.newPage();
  await page.setRequestInterception(true);
  const other=[];
  page.on('request',req=>{const u=req.url(); if(u.startsWith(origin)) return req.continue(); other.push(u.slice(0,120)); if(u.includes('/error-message/')) return req.respond({status:200,contentType:'text/javascript',body:''}); return req.abort('internetdisconnected');});
  let fin; const done=new Promise(r=>fin=r);
  await page.exposeFunction('scenariosDone',()=>fin());
  await page.exposeFunction('proxyUrl',()=>origin+'/proxy');
  await page.goto(`${origin}/?sdk=${sdk}`);
  await Promise.race([done,new Promise(r=>setTimeout(r,90000))]);
  await new Promise(r=>setTimeout(r,3000));
  await page.close();
  fs.writeFileSync(`/tmp/explore/${sdk}-uploads.json`, JSON.stringify(got.splice(0),null,1));
  fs.writeFileSync(`/tmp/explore/${sdk}-other.txt`, other.join('\n'));
}
await browser.close(); server.closeAllConnections(); server.close();
