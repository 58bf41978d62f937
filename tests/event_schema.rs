//! The event schema as users see it: a snapshot of one fully enriched event.

mod common;

#[test]
fn enriched_event_snapshot() {
    let line = br#"{"level":"error","ts":"2024-05-13T12:41:21.730Z","sdkAppId":1400188366,"userId":"alice","roomId":8801,"sdkVersion":"4.15.22","message":"SignalChannel setup failure: (errorCode: 70001, errorMsg: userSig expired }) <SIGNAL_CHANNEL_SETUP_FAILED 0x4001>"}"#;
    let mut input = b"noise size=4096\n".to_vec();
    input.extend(line);
    input.push(b'\n');
    let (ev, _) = common::scan_lib(&common::matcher(), &input, 64 * 1024);
    assert_eq!(ev.len(), 1);
    insta::assert_json_snapshot!(ev[0]);
}

#[test]
fn ingest_time_when_the_line_has_no_timestamp() {
    let before = jiff::Timestamp::now();
    let (ev, _) = common::scan_lib(&common::matcher(), b"code=0x4043\n", 1024);
    let ts: jiff::Timestamp = ev[0]["ts"].as_str().unwrap().parse().unwrap();
    assert!(ts >= before && ts <= jiff::Timestamp::now());
}

/// The renderer's bytes are serde's for every event of both corpora, and
/// `--text none` drops the prose.
#[test]
fn rendered_events_are_byte_identical_to_serde_and_text_modes_drop_prose() {
    use trtc_logwatch::pipeline::{FnSink, Pipeline};
    use trtc_logwatch::render::{Renderer, TextMode};
    let m = common::matcher();
    let both = Renderer::new(m.catalog(), TextMode::Both);
    let none = Renderer::new(m.catalog(), TextMode::None);
    let en = Renderer::new(m.catalog(), TextMode::En);
    let mut input = String::new();
    for name in ["sdk-forms.tsv", "real-forms.tsv"] {
        for l in common::data(name).lines().filter(|l| !l.starts_with('#')) {
            input.push_str(&l.rsplit('\t').next().unwrap().replace("\\n", "\n"));
            input.push('\n');
        }
    }
    let (mut n, mut bytes_both, mut bytes_none) = (0, 0, 0);
    let mut pipeline = Pipeline::builder("test").build();
    pipeline
        .read_to_end(
            &mut input.as_bytes(),
            &mut FnSink::new(m.clone(), |ev: &trtc_logwatch::event::Event<'_>| {
                let mut b = Vec::new();
                both.write(ev, &mut b);
                assert_eq!(
                    String::from_utf8_lossy(&b),
                    serde_json::to_string(ev).unwrap()
                );
                let mut s = Vec::new();
                none.write(ev, &mut s);
                let v: serde_json::Value = serde_json::from_slice(&s).unwrap();
                assert!(v.get("description").is_none() && v["key"] == ev.key, "{v}");
                // Compact: nothing null or false, nothing `explain` gives.
                let o = v.as_object().unwrap();
                assert!(o.values().all(|x| !x.is_null() && *x != false), "{v}");
                assert!(o.get("doc_url").is_none() && o.get("hex").is_none(), "{v}");
                assert_eq!(o.get("code").is_some(), ev.code.is_some(), "{v}");
                for k in ["ts", "source", "line_number", "offset", "catalog", "key"] {
                    assert!(o.contains_key(k), "{k} in {v}");
                }
                assert!(o.get("matched").is_none() && o.get("rule").is_none(), "{v}");
                for k in ["category", "severity", "context", "line"] {
                    assert!(o.contains_key(k), "{k} in {v}");
                }
                assert_eq!(o.get("cause").is_some(), ev.cause.is_some(), "{v}");
                let mut e = Vec::new();
                en.write(ev, &mut e);
                let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
                assert!(v["description"].get("ja").is_none() && v["description"]["en"].is_string());
                n += 1;
                bytes_both += b.len();
                bytes_none += s.len();
                Ok::<_, ()>(())
            }),
        )
        .unwrap();
    assert!(n > 150, "{n} events");
    println!("{n} events: both {bytes_both} bytes, none {bytes_none} bytes");
}

/// Blocks matched on two threads give exactly the events (in order, with
/// their line numbers and offsets) and counters of one thread, split SDK
/// errors and record boundaries included.
#[test]
fn matching_on_two_threads_gives_the_events_of_one() {
    let m = common::matcher();
    let mut lines = String::new();
    for name in ["sdk-forms.tsv", "real-forms.tsv"] {
        for l in common::data(name).lines().filter(|l| !l.starts_with('#')) {
            lines.push_str(&l.rsplit('\t').next().unwrap().replace("\\n", "\n"));
            lines.push('\n');
        }
    }
    // Several MiB, so every 1 MiB block is cut for the helper thread.
    let mut input = String::new();
    let mut i = 0;
    while input.len() < 3 << 20 {
        input.push_str(&format!(
            "[00:00:{:02}:000] <INFO> filler line {i}\n",
            i % 60
        ));
        input.push_str(&lines);
        i += 1;
    }
    let strip = |v: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
        v.into_iter()
            .map(|mut e| {
                e.as_object_mut().unwrap().remove("ts");
                e
            })
            .collect()
    };
    let (one, s1) = common::scan_lib_on(&m, input.as_bytes(), 64 * 1024, 1);
    let (two, s2) = common::scan_lib_on(&m, input.as_bytes(), 64 * 1024, 2);
    assert!(one.len() > 10_000, "{}", one.len());
    assert_eq!(s1, s2);
    let (one, two) = (strip(one), strip(two));
    let first_diff = one.iter().zip(&two).position(|(a, b)| a != b);
    assert_eq!(
        first_diff,
        None,
        "{:?}",
        first_diff.map(|i| (&one[i], &two[i]))
    );
    assert_eq!(one.len(), two.len());
}

/// Every event `scan` writes for both corpora, in every `--text` mode,
/// validates against the published JSON Schema (schema/event.schema.json);
/// and the schema does refuse what is not an event.
#[test]
fn scan_output_validates_against_the_json_schema() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schema/event.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let mut input = String::new();
    for name in ["sdk-forms.tsv", "real-forms.tsv"] {
        for l in common::data(name).lines().filter(|l| !l.starts_with('#')) {
            input.push_str(&l.rsplit('\t').next().unwrap().replace("\\n", "\n"));
            input.push('\n');
        }
    }
    for text in ["both", "en", "ja", "none"] {
        let out = assert_cmd::Command::cargo_bin("trtc-logwatch")
            .unwrap()
            .args(["scan", "--text", text])
            .write_stdin(input.clone())
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut n = 0;
        for l in String::from_utf8(out.stdout).unwrap().lines() {
            let ev: serde_json::Value = serde_json::from_str(l).unwrap();
            let errors: Vec<String> = v.iter_errors(&ev).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "--text {text}: {errors:?}\n{l}");
            n += 1;
        }
        assert!(n > 150, "--text {text}: {n} events");
    }
    let bad = serde_json::json!({"ts": "x", "key": "K"});
    assert!(!v.is_valid(&bad));
    let mut extra: serde_json::Value = serde_json::from_str(
        &String::from_utf8(
            assert_cmd::Command::cargo_bin("trtc-logwatch")
                .unwrap()
                .arg("scan")
                .write_stdin("RtcError: x <ICE_TRANSPORT_ERROR 0x4003>\n")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(v.is_valid(&extra));
    extra["severity"] = "fatal".into();
    assert!(!v.is_valid(&extra), "severity outside the enum");
}

/// The schema's groups are the catalog's, and an event's group is its
/// cause's: a v5 `OPERATION_FAILED` with extraCode 5501 is a
/// `media_connection` failure, as v4's `ICE_TRANSPORT_ERROR` is.
#[test]
fn events_carry_their_group_as_the_schema_lists_them() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/event.schema.json")).unwrap();
    let listed: Vec<&str> = schema["properties"]["group"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let groups: Vec<&str> = trtc_logwatch::catalog::GROUPS
        .iter()
        .map(|(g, _)| *g)
        .collect();
    assert_eq!(listed, groups);
    let input = b"RtcError: ice failed <ICE_TRANSPORT_ERROR 0x4003>\n[08:40:56:001] <ERROR> [\xe2\x86\x91t1|alice] enterRoom() failed 3   OPERATION_FAILED: 'enterRoom' failed, reason: firewall\n code:5501\n";
    let (ev, _) = common::scan_lib(&common::matcher(), input, 64 * 1024);
    let got: Vec<(&str, &str)> = ev
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["group"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("ICE_TRANSPORT_ERROR", "media_connection"),
            ("OPERATION_FAILED", "media_connection")
        ]
    );
}
