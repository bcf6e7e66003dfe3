//! Installed filters (`eth_newFilter`, `eth_newBlockFilter`,
//! `eth_getFilterChanges`, `eth_uninstallFilter`), polled from the stored
//! blocks: a filter remembers the last block it returned and expires after
//! [`FILTER_TIMEOUT`] without a poll (geth's five minutes).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy_rpc_types_eth::Filter;

/// A filter not polled for this long is removed.
pub const FILTER_TIMEOUT: Duration = Duration::from_secs(300);

/// What a filter returns.
#[derive(Clone, Debug)]
pub(crate) enum FilterKind {
    /// Logs matching the filter, from new blocks.
    Logs(Box<Filter>),
    /// Hashes of new blocks.
    Blocks,
}

#[derive(Clone, Debug)]
pub(crate) struct Installed {
    pub(crate) kind: FilterKind,
    /// The last block already returned.
    pub(crate) last_block: u64,
    last_poll: Instant,
}

/// The installed filters, by id.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    next_id: u64,
    filters: HashMap<u64, Installed>,
}

impl Filters {
    /// Installs a filter that returns what comes after `head`; `None` if
    /// `max` filters are installed.
    pub(crate) fn install(&mut self, kind: FilterKind, head: u64, max: usize) -> Option<u64> {
        self.expire();
        if self.filters.len() >= max {
            return None;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.filters.insert(
            id,
            Installed {
                kind,
                last_block: head,
                last_poll: Instant::now(),
            },
        );
        Some(id)
    }

    /// The filter `id`, marked as polled.
    pub(crate) fn poll(&mut self, id: u64) -> Option<&mut Installed> {
        self.expire();
        let filter = self.filters.get_mut(&id)?;
        filter.last_poll = Instant::now();
        Some(filter)
    }

    /// Removes `id`; whether it was installed.
    pub(crate) fn uninstall(&mut self, id: u64) -> bool {
        self.filters.remove(&id).is_some()
    }

    fn expire(&mut self) {
        self.filters
            .retain(|_, f| f.last_poll.elapsed() < FILTER_TIMEOUT);
    }
}
