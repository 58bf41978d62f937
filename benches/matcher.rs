//! Matcher throughput on the deterministic corpus of
//! scripts/gen-corpus.py (16 MiB, generated once into
//! bench-data/), stage by stage: candidate search, full block scan, and the
//! per-block passes (UTF-8 check, newline count, long-line check).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trtc_logwatch::catalog::CatalogSet;
use trtc_logwatch::lines::{Chunk, DEFAULT_MAX_LINE};
use trtc_logwatch::matcher::Matcher;
use trtc_logwatch::scan::{ScanOptions, SourceScanner, count_long_lines};

fn corpus() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("bench-data/gen-16.log");
    if !path.exists() {
        std::fs::create_dir_all(root.join("bench-data")).unwrap();
        let out = Command::new("python3")
            .arg(root.join("scripts/gen-corpus.py"))
            .arg("16")
            .output()
            .expect("python3 is needed for the benches (scripts/gen-corpus.py)");
        std::fs::write(&path, out.stdout).unwrap();
    }
    std::fs::read(path).unwrap()
}

fn bench(c: &mut Criterion) {
    let data = corpus();
    let m = Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap();
    let mut g = c.benchmark_group("corpus-16MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("candidate_lines", |b| {
        b.iter(|| {
            let mut n = 0usize;
            m.candidate_lines(&data, |_, _| n += 1);
            n
        })
    });
    g.bench_function("scan_block_with_events", |b| {
        b.iter(|| {
            let mut sc = SourceScanner::new(ScanOptions {
                name: "bench".into(),
                limit: DEFAULT_MAX_LINE,
                ..ScanOptions::default()
            });
            let mut n = 0usize;
            sc.chunk(&m, Chunk::Lines(&data), &mut |ev| {
                n += ev.key.len();
                Ok::<_, ()>(())
            })
            .unwrap();
            n
        })
    });
    g.bench_function("utf8_check", |b| {
        b.iter(|| std::str::from_utf8(&data).is_ok())
    });
    g.bench_function("newline_count", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', &data).count())
    });
    g.bench_function("long_line_check", |b| {
        b.iter(|| count_long_lines(&data, DEFAULT_MAX_LINE))
    });
    g.finish();
}

/// A user catalog with `n` keys (each with one alias and one message).
fn big_catalog(n: usize) -> String {
    let mut y = String::from("catalog: big\nentries:\n");
    for i in 0..n {
        y.push_str(&format!(
            "  - key: APP_ERROR_{i:05}\n    aliases: [APP_ERR_{i:05}]\n    kind: sdk\n    code: {}\n    category: room\n    severity: error\n    messages: [\"app failure number {i}\"]\n    description: {{en: x}}\n",
            100_000 + i
        ));
    }
    y
}

/// Build time of catalog + matcher: the built-in catalogs, then user
/// catalogs of 3,000 and 9,000 patterns (the limit is 10,000).
fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    g.bench_function("builtin", |b| {
        b.iter(|| Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap())
    });
    for n in [1000, 3000] {
        let yaml = big_catalog(n);
        g.bench_function(format!("user_{}_patterns", 3 * n), |b| {
            b.iter(|| {
                let mut cb = trtc_logwatch::catalog::CatalogSetBuilder::new();
                cb.add_yaml("big.yaml", yaml.clone());
                Matcher::new(Arc::new(cb.build().unwrap())).unwrap()
            })
        });
    }
    g.finish();
}

/// Hostile lines: time per byte against line length, for lines that repeat
/// a weak key (`"UNKNOWN" `), a key list, `<KEY ` without hex and JSON
/// key/value pairs. Flat across lengths means linear work (issue 18: it was
/// quadratic, 1.7 s for one 64 KiB line).
fn hostile(c: &mut Criterion) {
    let m = Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap();
    let mut g = c.benchmark_group("hostile-lines");
    g.sample_size(10);
    for (name, unit) in [
        ("weak-key", "\"UNKNOWN\" "),
        ("key-list", "ICE_TRANSPORT_ERROR, "),
        ("key-no-hex", "<ICE_TRANSPORT_ERROR "),
        ("json-pairs", "\"ICE_TRANSPORT_ERROR\":\"x\","),
    ] {
        for len in [1024usize, 8 * 1024, 64 * 1024] {
            let line = unit.repeat(len / unit.len() + 1)[..len].to_string() + "\n";
            let block = line.repeat((1 << 20) / line.len());
            g.throughput(Throughput::Bytes(block.len() as u64));
            g.bench_function(format!("{name}/{len}"), |b| {
                b.iter(|| {
                    let mut sc = SourceScanner::new(ScanOptions {
                        name: "b".into(),
                        limit: DEFAULT_MAX_LINE,
                        ..ScanOptions::default()
                    });
                    let mut n = 0u64;
                    sc.chunk(&m, Chunk::Lines(block.as_bytes()), &mut |_| {
                        n += 1;
                        Ok::<_, ()>(())
                    })
                    .unwrap();
                    n
                })
            });
        }
    }
    g.finish();
}

/// Time per byte against keys per line: 4 KiB lines holding k real error
/// keys (each a whole `<KEY 0xhex>`) among filler, 1 MiB per iteration.
fn keys_per_line(c: &mut Criterion) {
    let m = Matcher::new(Arc::new(CatalogSet::builtin().unwrap())).unwrap();
    let mut g = c.benchmark_group("keys-per-line");
    g.sample_size(10);
    let key = "<ICE_TRANSPORT_ERROR 0x4003> ";
    for k in [0usize, 1, 4, 16, 64, 128] {
        let len = 4096;
        let filler = len - k * key.len();
        let mut line = "RtcError: ".to_string();
        for i in 0..k {
            line.push_str(key);
            line.push_str(&"x".repeat(filler / (k + 1) / 2 * usize::from(i % 2 == 0)));
        }
        line.push_str(&"y".repeat(len.saturating_sub(line.len())));
        line.push('\n');
        let block = line.repeat((1 << 20) / line.len());
        g.throughput(Throughput::Bytes(block.len() as u64));
        g.bench_function(format!("{k}"), |b| {
            b.iter(|| {
                let mut sc = SourceScanner::new(ScanOptions {
                    name: "b".into(),
                    limit: DEFAULT_MAX_LINE,
                    ..ScanOptions::default()
                });
                let mut n = 0u64;
                sc.chunk(&m, Chunk::Lines(block.as_bytes()), &mut |_| {
                    n += 1;
                    Ok::<_, ()>(())
                })
                .unwrap();
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, build, hostile, keys_per_line);
criterion_main!(benches);
