//! The list of every kind of input: the one place a new kind is added.

use super::{Register, browser, files, ingest, nats, stdin};

/// Every kind of input, in the order its sources start. Each registers
/// its metrics on the registry and returns its [`Kind`](super::Kind): adding an input
/// is its module and one line here.
pub(crate) const KINDS: [Register; 5] = [
    files::kind,
    stdin::kind,
    nats::kind,
    ingest::kind,
    browser::kind,
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use prometheus_client::registry::Registry;

    use super::KINDS;
    use crate::daemon::config::Config;

    #[test]
    fn each_kind_names_its_section_when_only_a_restart_applies_it() {
        let mut r = Registry::default();
        let kinds: Vec<_> = KINDS.iter().map(|k| k(&mut r)).collect();
        let load = |y: &str| Config::from_yaml(Path::new("c.yaml"), y).unwrap();
        let old = load("sources:\n  - name: app\n    include: ['/tmp/a/*.log']\n");
        let new = load(
            "sources:\n  - name: app\n    include: ['/tmp/b/*.log']\n  - name: in\n    stdin: true\ningest:\n  listen: 127.0.0.1:1\nbrowser:\n  listen: 127.0.0.1:2\n  origins: ['https://a.example']\n  sdk_app_ids: [1]\nnats:\n  url: nats://127.0.0.1:4222\n  stream: s\n  subjects: [s.x]\n  durable: d\n",
        );
        let said: Vec<_> = kinds
            .iter()
            .filter_map(|k| k.restart_only(&old, &new))
            .collect();
        // A file source's globs are applied by a reload.
        assert_eq!(said, ["the stdin source", "nats", "ingest", "browser"]);
        assert!(kinds.iter().all(|k| k.restart_only(&new, &new).is_none()));
    }
}
