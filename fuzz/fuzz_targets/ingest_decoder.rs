//! The ingest decoder: the input as a collector body, decoded into records
//! in order within the text, and matched.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    trtc_logwatch::fuzzing::ingest_decoder(data);
});
