//! `run`'s flags laid over the config file: what a flag gives wins, what a
//! flag adds (a source, a catalog directory, an origin) is added, and the
//! merged config is checked as a whole ([`Config::check_runnable`]).

use std::path::PathBuf;

use super::resolve_listen;
use super::{BrowserConfig, Config, ConfigError, IngestConfig, Origins, SourceConfig, StartAt};

/// What `run`'s flags say; empty and `None` say nothing.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--follow GLOB`: a file source named `files`.
    pub follow: Vec<String>,
    /// `--exclude GLOB`, for `--follow`.
    pub exclude: Vec<String>,
    /// `--start-at`, for every file source.
    pub start_at: Option<StartAt>,
    /// `--stdin`: a source named `stdin`, unless the config has one.
    pub stdin: bool,
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--ingest ADDR`.
    pub ingest: Option<String>,
    /// `--browser ADDR`.
    pub browser: Option<String>,
    /// `--browser-origin`, added to the config's (`*`: any).
    pub browser_origin: Vec<String>,
    /// `--browser-app-id`, added to the config's.
    pub browser_app_id: Vec<u64>,
    /// `--events PATH|-`.
    pub events: Option<String>,
    /// `--text`.
    pub text: Option<crate::render::TextMode>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--patterns DIR`, added to the config's.
    pub patterns: Vec<PathBuf>,
}

fn flag_addr(flag: &str, value: &str) -> Result<std::net::SocketAddr, ConfigError> {
    resolve_listen(value).map_err(|e| ConfigError::Flag(format!("{flag}: {e}")))
}

impl Config {
    /// This config with `f` laid over it, checked as a whole.
    pub fn with_flags(mut self, f: &Flags) -> Result<Self, ConfigError> {
        if !f.follow.is_empty() {
            // Its name is checked with the others' by `check_runnable`.
            self.sources.push(SourceConfig::files(
                "files",
                f.follow.clone(),
                f.exclude.clone(),
            )?);
        }
        if let Some(st) = f.start_at {
            for g in self
                .sources
                .iter_mut()
                .filter_map(SourceConfig::files_of_mut)
            {
                g.start_at = st;
            }
        }
        if f.stdin && self.stdin_source().is_none() {
            self.sources.push(SourceConfig::stdin("stdin"));
        }
        if let Some(l) = &f.listen {
            self.listen = flag_addr("--listen", l)?;
        }
        if let Some(l) = &f.ingest {
            let addr = flag_addr("--ingest", l)?;
            match &mut self.ingest {
                Some(i) => i.listen = addr,
                None => self.ingest = Some(IngestConfig::on(addr)),
            }
        }
        if let Some(l) = &f.browser {
            let addr = flag_addr("--browser", l)?;
            match &mut self.browser {
                Some(b) => b.listen = addr,
                None => self.browser = Some(BrowserConfig::on(addr)),
            }
        }
        if !f.browser_origin.is_empty() || !f.browser_app_id.is_empty() {
            let Some(b) = &mut self.browser else {
                return Err(ConfigError::Flag(
                    "--browser-origin and --browser-app-id need --browser ADDR (or `browser:` in the config)".into(),
                ));
            };
            if f.browser_origin.iter().any(|o| o == "*") {
                b.origins = Origins::Any;
            } else if !f.browser_origin.is_empty() {
                let mut list = match &b.origins {
                    Origins::Only(l) => l.clone(),
                    Origins::Any => Vec::new(),
                };
                list.extend(
                    f.browser_origin
                        .iter()
                        .map(|o| o.trim_end_matches('/').to_string()),
                );
                b.origins = Origins::Only(list);
            }
            b.sdk_app_ids.extend(f.browser_app_id.iter().copied());
        }
        if let Some(e) = &f.events {
            self.events_path = (e != "-").then(|| PathBuf::from(e));
        }
        if let Some(t) = f.text {
            self.events_text = t;
        }
        if let Some(d) = &f.state_dir {
            self.state_dir = Some(d.clone());
        }
        self.pattern_dirs.extend(f.patterns.iter().cloned());
        self.check_runnable()?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn yaml(text: &str) -> Config {
        Config::from_yaml(Path::new("c.yaml"), text).unwrap()
    }

    #[test]
    fn flags_win_over_the_file_and_add_to_its_lists() {
        let c = yaml(
            "listen: 127.0.0.1:9000\npatterns: {dirs: [/etc/a]}\nbrowser:\n  listen: 127.0.0.1:7000\n  origins: ['https://a.example']\n  sdk_app_ids: [1400000001]\nsources:\n  - name: app\n    include: ['/var/log/app/*.log']\n",
        );
        let f = Flags {
            listen: Some("127.0.0.1:9100".into()),
            follow: vec!["/tmp/x/*.log".into()],
            start_at: Some(StartAt::Beginning),
            stdin: true,
            browser: Some("127.0.0.1:7100".into()),
            browser_origin: vec!["https://b.example/".into()],
            browser_app_id: vec![1400000002],
            events: Some("-".into()),
            patterns: vec!["/etc/b".into()],
            ..Flags::default()
        };
        let c = c.with_flags(&f).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        let names: Vec<_> = c.source_names().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["app", "files", "stdin", "browser"]);
        assert!(
            c.file_sources()
                .all(|(_, g)| g.start_at == StartAt::Beginning)
        );
        let b = c.browser.as_ref().unwrap();
        assert_eq!(b.listen.to_string(), "127.0.0.1:7100");
        assert_eq!(
            b.origins,
            Origins::Only(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert_eq!(b.sdk_app_ids, [1400000001, 1400000002]);
        assert_eq!(c.events_path, None);
        assert_eq!(c.pattern_dirs.len(), 2);
    }

    #[test]
    fn flags_alone_make_a_config_and_bad_ones_say_which() {
        let f = Flags {
            ingest: Some("127.0.0.1:0".into()),
            ..Flags::default()
        };
        let c = Config::default().with_flags(&f).unwrap();
        assert_eq!(
            c.ingest.as_ref().map(|i| i.sources.clone()),
            Some(vec!["ingest".to_string()])
        );
        let bad = Flags {
            listen: Some("nowhere".into()),
            stdin: true,
            ..Flags::default()
        };
        let e = Config::default().with_flags(&bad).unwrap_err().to_string();
        assert!(e.starts_with("--listen: "), "{e}");
        let orphan = Flags {
            stdin: true,
            browser_app_id: vec![1],
            ..Flags::default()
        };
        let e = Config::default()
            .with_flags(&orphan)
            .unwrap_err()
            .to_string();
        assert!(e.contains("need --browser ADDR"), "{e}");
        let none = Config::default().with_flags(&Flags::default()).unwrap_err();
        assert!(none.to_string().starts_with("no sources"), "{none}");
    }
}
