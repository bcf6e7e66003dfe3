//! Block production: the one thread that owns the [`Chain`] and applies
//! blocks through `Chain::apply_block`, the path `braid run` takes, so the
//! roots are exactly those `braid run` computes from the same transactions.
//!
//! A block holds ready transactions from the pool ([`Pool::select`]). A
//! transaction that became invalid since its submission (its sender's
//! balance spent by an earlier one, say) makes `apply_block` refuse the
//! block and change nothing; the producer drops that transaction (and its
//! sender's later nonces) from the pool and applies the block without it,
//! so an invalid transaction never poisons a block.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::Address;
use braid_chain::{Block, BlockHeader, Chain, ChainError, Receipt};

use crate::config::Mining;
use crate::pool::NonceSpace;
use crate::shared::Shared;

/// What the producer is told.
#[derive(Debug)]
pub(crate) enum Signal {
    /// A transaction was pooled.
    Transaction,
    /// Finish the block in progress and stop.
    Stop,
}

/// A committed block, as subscribers and filters see it.
#[derive(Debug)]
pub struct Committed {
    /// The header.
    pub header: BlockHeader,
    /// Its hash.
    pub hash: [u8; 32],
    /// Its receipts.
    pub receipts: Vec<Receipt>,
}

/// Runs until [`Signal::Stop`] (or a failure, which it reports in
/// `shared.fatal`).
pub(crate) fn run(
    mut chain: Chain,
    shared: Arc<Shared>,
    signals: Receiver<Signal>,
    mining: Mining,
) {
    let result = match mining {
        Mining::Automine => automine(&mut chain, &shared, &signals),
        Mining::Interval(period) => interval(&mut chain, &shared, &signals, period),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "block production stopped");
        shared.fail(e.to_string());
    }
    tracing::info!(head = chain.head().number, "block producer stopped");
}

fn automine(
    chain: &mut Chain,
    shared: &Shared,
    signals: &Receiver<Signal>,
) -> Result<(), ChainError> {
    loop {
        match signals.recv() {
            Ok(Signal::Transaction) => {}
            Ok(Signal::Stop) | Err(_) => return Ok(()),
        }
        // Everything that arrived meanwhile goes into the same block.
        let mut stop = false;
        while let Ok(signal) = signals.try_recv() {
            stop |= matches!(signal, Signal::Stop);
        }
        while produce(chain, shared, false)? {}
        if stop {
            return Ok(());
        }
    }
}

fn interval(
    chain: &mut Chain,
    shared: &Shared,
    signals: &Receiver<Signal>,
    period: Duration,
) -> Result<(), ChainError> {
    let mut next = Instant::now() + period;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match signals.recv_timeout(wait) {
            Ok(Signal::Transaction) => continue,
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {
                produce(chain, shared, true)?;
                next += period;
                if next < Instant::now() {
                    next = Instant::now() + period;
                }
            }
        }
    }
}

/// Builds, applies and announces one block; returns whether one was made
/// (never an empty one unless `empty_ok`).
fn produce(chain: &mut Chain, shared: &Shared, empty_ok: bool) -> Result<bool, ChainError> {
    let spec = chain.spec();
    let base_fee = spec.base_fee;
    let budget = spec.block_braid_gas_limit();
    let mut candidates = {
        let snapshot = shared.reader.snapshot()?;
        let mut nonces: HashMap<(Address, NonceSpace), u64> = HashMap::new();
        let mut failure = None;
        let pool = shared.pool();
        let selected = pool.select(base_fee, budget, |sender, space| {
            *nonces.entry((sender, space)).or_insert_with(|| {
                let nonce = match space {
                    NonceSpace::Ethereum => snapshot.nonce(sender),
                    NonceSpace::Braid => snapshot.braid_nonce(&braid_core::Identity(sender.0.0)),
                };
                nonce.unwrap_or_else(|e| {
                    failure = Some(e);
                    u64::MAX
                })
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        selected
    };
    if candidates.is_empty() && !empty_ok {
        return Ok(false);
    }
    let head = chain.head().clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut block = Block {
        number: head.number + 1,
        timestamp: now.max(head.timestamp),
        transactions: candidates.iter().map(|t| t.raw.clone()).collect(),
    };
    let report = loop {
        let started = Instant::now();
        match chain.apply_block(&block) {
            Ok(report) => {
                tracing::debug!(
                    number = block.number,
                    transactions = block.transactions.len(),
                    micros = started.elapsed().as_micros() as u64,
                    "block applied"
                );
                break report;
            }
            Err(ChainError::InvalidTransaction { index, reason, .. }) => {
                let bad = candidates.remove(index);
                tracing::warn!(
                    hash = %hex::encode(bad.hash),
                    %reason,
                    "transaction became invalid in the pool: dropped with its sender's later nonces"
                );
                let dropped = shared.pool().remove_with_descendants(&bad.hash);
                shared.count_dropped(dropped.max(1));
                candidates.retain(|t| {
                    !(t.sender == bad.sender && t.space == bad.space && t.nonce > bad.nonce)
                });
                if candidates.is_empty() && !empty_ok {
                    return Ok(false);
                }
                block.transactions = candidates.iter().map(|t| t.raw.clone()).collect();
            }
            Err(e) => return Err(e),
        }
    };
    {
        let mut pool = shared.pool();
        for tx in &candidates {
            pool.set_state_nonce(tx.sender, tx.space, tx.nonce + 1);
        }
    }
    let hash = report.header.hash();
    shared.announce(Committed {
        header: report.header,
        hash,
        receipts: report.receipts,
    });
    Ok(true)
}
