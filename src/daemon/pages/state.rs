//! What the pages read: the current catalogs, the daemon's health, the
//! board the workers keep, who the errors hit.

use std::sync::Arc;

use tokio::sync::watch;

use crate::daemon::affected::Affected;
use crate::daemon::board::Board;
use crate::daemon::generation::Generation;
use crate::daemon::health::Health;

/// What the pages read.
#[derive(Debug, Clone)]
pub struct PagesState {
    /// The current configuration and catalogs.
    pub current: watch::Receiver<Arc<Generation>>,
    /// Whether the daemon is ready, and why not.
    pub health: Arc<Health>,
    /// Recent figures and events, and the file sources' lags.
    pub board: Arc<Board>,
    /// Who the errors hit.
    pub affected: Arc<Affected>,
}
