//! Load on the browser endpoint: CLIENTS browsers (each its own address in
//! X-Forwarded-For, one keep-alive connection each) post the SDK's
//! `jssdk_log` uploads (a v5 log with one failed `enterRoom`) one after the
//! other for SECONDS; prints uploads/s and the answer time's p50, p99 and
//! max. For BENCHMARKS.md (scripts/bench-browser.sh runs it).
//!
//!     cargo run --release --example browser_load -- PORT CLIENTS SECONDS

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn body(n: usize) -> String {
    let log = format!(
        "[08:40:56:462] <INFO> TRTC Web SDK Version: 5.17.1\n[08:40:56:570] <INFO> [\u{2191}t1-r1|user{n}] Join() => joining room: 8888\n[08:40:56:595] <ERROR> schedule failed: Failed to fetch 0\n[08:40:56:597] <ERROR> [\u{2191}t1|user{n}] enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: schedule failed\nRefer to: https://web.sdk.qcloud.com/trtc/webrtc/doc/en/index.html\n code:5500 params: [{{\"sdkAppId\":1400000001,\"userId\":\"user{n}\",\"userSig\":\"eJw\",\"roomId\":8888}}]\n[08:40:56:598] <INFO> [\u{2191}t1|user{n}] exitRoom()"
    );
    serde_json::json!({
        "timestamp": "11/30/2026, 8:40:56 AM",
        "sdkAppId": "1400000001",
        "userId": format!("user{n}"),
        "version": "5.17.1",
        "log": log,
    })
    .to_string()
}

async fn client(port: u16, n: usize, until: Instant) -> std::io::Result<Vec<Duration>> {
    let s = TcpStream::connect(("127.0.0.1", port)).await?;
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let body = body(n);
    let req = format!(
        "POST /v5/AVQualityReportSvc/C2S?random=1&sdkappid=1400000001&cmdtype=jssdk_log HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nContent-Type: text/plain;charset=UTF-8\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36\r\nX-Forwarded-For: 10.{}.{}.{}\r\nContent-Length: {}\r\n\r\n{body}",
        n / 65536 % 256,
        n / 256 % 256,
        n % 256,
        body.len()
    );
    let mut times = Vec::new();
    let mut line = String::new();
    while Instant::now() < until {
        let t = Instant::now();
        w.write_all(req.as_bytes()).await?;
        // Status line, headers, then the body of content-length.
        line.clear();
        r.read_line(&mut line).await?;
        if !line.starts_with("HTTP/1.1 200") {
            return Err(std::io::Error::other(format!("answer: {line}")));
        }
        let mut len = 0usize;
        loop {
            line.clear();
            r.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut b = vec![0u8; len];
        r.read_exact(&mut b).await?;
        times.push(t.elapsed());
    }
    Ok(times)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).expect("PORT");
    let clients: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300);
    let secs: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client(port, n, until)))
        .collect();
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(times)) => all.extend(times),
            _ => failed += 1,
        }
    }
    let took = start.elapsed().as_secs_f64();
    all.sort();
    let q = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{{\"clients\":{clients},\"failed_clients\":{failed},\"uploads\":{},\"uploads_per_s\":{:.0},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        all.len(),
        all.len() as f64 / took,
        q(0.5),
        q(0.99),
        q(1.0)
    );
}
