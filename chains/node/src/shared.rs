//! What the RPC handlers and the block producer share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

use braid_chain::{ChainReader, RawTransaction};
use tokio::sync::{Notify, broadcast};

use crate::config::Limits;
use crate::filters::Filters;
use crate::pool::{Placement, Pool};
use crate::producer::{Committed, Signal};
use crate::validate::{self, SubmitError};

/// State shared by every RPC connection and the producer thread.
pub(crate) struct Shared {
    /// Reads of the last committed block.
    pub(crate) reader: ChainReader,
    pool: Mutex<Pool>,
    signals: Mutex<Sender<Signal>>,
    /// Committed blocks, for subscriptions.
    pub(crate) events: broadcast::Sender<Arc<Committed>>,
    /// Installed filters.
    pub(crate) filters: Mutex<Filters>,
    /// Limits.
    pub(crate) limits: Limits,
    /// `web3_clientVersion`.
    pub(crate) client_version: String,
    /// Set when block production failed; the node shuts down.
    fatal: Mutex<Option<String>>,
    /// Woken on a fatal failure.
    pub(crate) fatal_notify: Notify,
    accepted: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    pub(crate) fn new(reader: ChainReader, signals: Sender<Signal>, limits: Limits) -> Self {
        Shared {
            reader,
            pool: Mutex::new(Pool::new(limits.pool)),
            signals: Mutex::new(signals),
            events: broadcast::channel(1024).0,
            filters: Mutex::new(Filters::default()),
            limits,
            client_version: format!("braid/v{}", env!("CARGO_PKG_VERSION")),
            fatal: Mutex::new(None),
            fatal_notify: Notify::new(),
            accepted: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// The pool, locked (a poisoned lock is taken over: the pool's maps
    /// stay consistent across a panic in a reader).
    pub(crate) fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks `raw` and pools it; wakes the producer.
    ///
    /// # Errors
    /// [`SubmitError`] with geth's message.
    pub(crate) fn submit(&self, raw: RawTransaction) -> Result<[u8; 32], SubmitError> {
        let checked = {
            let snapshot = self.reader.snapshot()?;
            validate::check(&self.reader, &snapshot, raw)?
        };
        let hash = checked.tx.hash;
        let placement = self.pool().add(checked.tx, checked.state_nonce)?;
        self.accepted.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(hash = %hex::encode(hash), ?placement, "transaction pooled");
        if placement == Placement::Pending {
            let _ = self
                .signals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(Signal::Transaction);
        }
        Ok(hash)
    }

    /// Tells the producer to stop after the block in progress.
    pub(crate) fn stop_producer(&self) {
        let _ = self
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Signal::Stop);
    }

    /// Announces a committed block to subscribers.
    pub(crate) fn announce(&self, block: Committed) {
        // No subscriber is not an error.
        let _ = self.events.send(Arc::new(block));
    }

    /// Records a fatal failure of block production.
    pub(crate) fn fail(&self, message: String) {
        *self.fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
        self.fatal_notify.notify_waiters();
        self.fatal_notify.notify_one();
    }

    /// The fatal failure, if any.
    pub(crate) fn fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counts transactions dropped from the pool at block building.
    pub(crate) fn count_dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `(accepted, dropped)` since start.
    pub(crate) fn counters(&self) -> (u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}
