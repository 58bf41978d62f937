#!/usr/bin/env python3
# The ingest memory attack of issue 18: 64 requests at once, each 8 KiB of
# gzip expanding to an 8 MiB JSON array of numbers, against a release
# build; prints the answers and the RSS at start, at peak and after.
# Usage: scripts/bench-ingest-memory.py MAX_MEMORY_BYTES (from the repo root,
# after cargo build --release).
import gzip, socket, subprocess, threading, time, os, sys, re, tempfile, json
d=tempfile.mkdtemp()
cfg=os.path.join(d,'c.yaml')
open(cfg,'w').write(f"events:\n  path: {d}/ev.ndjson\nlisten: 127.0.0.1:0\ningest:\n  listen: 127.0.0.1:0\n  max_memory_bytes: {sys.argv[1]}\n")
p=subprocess.Popen(['target/release/trtc-logwatch','run','--config',cfg],stderr=subprocess.PIPE,text=True)
port=None
while port is None:
    l=p.stderr.readline()
    m=re.search(r'accepting POST /ingest on http://[\d.]+:(\d+)',l)
    if m: port=int(m.group(1))
threading.Thread(target=lambda: [None for _ in p.stderr],daemon=True).start()
def st(f):
    for l in open(f'/proc/{p.pid}/status'):
        if l.startswith(f): return int(l.split()[1])
time.sleep(0.5)
before=st('VmRSS:')
body=b'['+b'1,'*(4*1024*1024-2)+b'1]'
bomb=gzip.compress(body,9)
def post(b,enc=None):
    s=socket.create_connection(('127.0.0.1',port))
    h=f"POST /ingest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(b)}\r\n"+(f"Content-Encoding: {enc}\r\n" if enc else "")+"\r\n"
    s.sendall(h.encode()+b); r=b''
    while True:
        x=s.recv(65536)
        if not x: break
        r+=x
    return int(r.split()[1])
codes=[]
t0=time.time()
ts=[threading.Thread(target=lambda: codes.append(post(bomb,'gzip'))) for _ in range(64)]
[t.start() for t in ts]; [t.join() for t in ts]
t1=time.time()
peak=st('VmHWM:'); time.sleep(1); after=st('VmRSS:')
print(json.dumps({'budget':sys.argv[1],'bomb_bytes':len(bomb),'codes':{c:codes.count(c) for c in set(codes)},'rss_start_kib':before,'peak_kib':peak,'rss_after_kib':after,'secs':round(t1-t0,2)}))
p.terminate(); p.wait()
