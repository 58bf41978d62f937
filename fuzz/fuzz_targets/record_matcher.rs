//! The record matcher: the input as a log, matched whole and read in
//! pieces (sizes from its first bytes): the same events, each at its line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, input) = data.split_at(data.len().min(3));
    let sizes: Vec<usize> = head.iter().map(|&b| usize::from(b) * 7 + 1).collect();
    let limit = match head.first() {
        Some(b) if b % 4 == 0 => 64,
        Some(b) if b % 4 == 1 => 1024,
        _ => 65536,
    };
    trtc_logwatch::fuzzing::record_matcher(input, &sizes, limit);
});
