//! One configuration with the matcher and renderer built from its
//! catalogs: what a reload replaces whole, and what every source reads
//! before each block.

use std::sync::Arc;

use super::config::{Config, ConfigError};
use crate::catalog::{self, CatalogError};
use crate::matcher::{self, Matcher};

/// One configuration with the matcher built from its catalogs: what a
/// reload replaces whole.
#[derive(Debug)]
pub struct Generation {
    /// The configuration.
    pub config: Arc<Config>,
    /// The matcher over its catalogs.
    pub matcher: Arc<Matcher>,
    /// The events' static parts for those catalogs and `events.text`.
    pub renderer: Arc<crate::render::Renderer>,
}

/// A configuration, its catalogs or its matcher could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The config file or the flags.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A catalog.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The automaton.
    #[error(transparent)]
    Matcher(#[from] matcher::BuildError),
}

impl Generation {
    /// Loads the catalogs `config` asks for and builds the matcher (blocking:
    /// reads files and builds automata).
    pub fn build(config: Config) -> Result<Self, LoadError> {
        let set = catalog::load(config.builtin_patterns, &config.pattern_dirs)?;
        for w in set.warnings() {
            tracing::warn!("{w}");
        }
        let renderer = crate::render::Renderer::new(&set, config.events_text);
        let matcher =
            Matcher::new(Arc::new(set))?.with_recognition(Arc::clone(&config.recognition));
        Ok(Self {
            config: Arc::new(config),
            matcher: Arc::new(matcher),
            renderer: Arc::new(renderer),
        })
    }
}
