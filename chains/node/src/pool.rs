//! The transaction pool: validated transactions waiting for a block.
//!
//! Every transaction is checked at submission ([`crate::validate`]) and lands
//! here keyed by `(sender, nonce space)`: Ethereum transactions use the
//! sender's EVM nonce, Braid transactions its Braid nonce (RFC 0007), so one
//! address can have both kinds in flight. Per sender the pool keeps a map
//! from nonce to transaction:
//!
//! - **pending**: the run of nonces starting at the sender's state nonce with
//!   no gap, ready for the next block;
//! - **queued**: nonces after a gap, waiting for the missing one.
//!
//! A transaction with the nonce of one already pooled replaces it only if it
//! raises both its max fee and its priority fee by at least
//! [`PoolLimits::price_bump_percent`] (geth's rule, 10% by default). The pool
//! holds at most [`PoolLimits::max_per_sender`] transactions per sender and
//! [`PoolLimits::max_total`] in all; when full, a new transaction evicts the
//! cheapest transaction that is last in its sender's run (so no gap is
//! created in front of other transactions), if it pays more, and is refused
//! otherwise.

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use alloy_primitives::{Address, U256};
use braid_chain::RawTransaction;

/// Which nonce sequence a transaction uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NonceSpace {
    /// The sender's EVM account nonce.
    Ethereum,
    /// The sender's Braid nonce.
    Braid,
}

/// A validated transaction in the pool.
#[derive(Clone, Debug)]
pub struct PooledTx {
    /// keccak-256 of the bytes.
    pub hash: [u8; 32],
    /// The bytes, as signed.
    pub raw: RawTransaction,
    /// The sender.
    pub sender: Address,
    /// Which nonce it uses.
    pub space: NonceSpace,
    /// Its nonce.
    pub nonce: u64,
    /// Gas limit, Braid gas (what it reserves of a block's budget).
    pub gas_limit: u64,
    /// Max fee per gas, wei.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas, wei (the legacy gas price for a legacy tx).
    pub max_priority_fee_per_gas: u128,
    /// Most it can cost: `gas_limit × max_fee + value`, wei.
    pub max_cost: U256,
}

impl PooledTx {
    /// The tip it pays per gas in a block with `base_fee` (EIP-1559).
    pub fn effective_tip(&self, base_fee: u64) -> u128 {
        self.max_priority_fee_per_gas
            .min(self.max_fee_per_gas.saturating_sub(u128::from(base_fee)))
    }
}

/// Size limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Transactions per sender and nonce space (pending and queued).
    pub max_per_sender: usize,
    /// Transactions in the pool.
    pub max_total: usize,
    /// Minimum raise, percent, of both fee caps for a replacement.
    pub price_bump_percent: u128,
}

impl Default for PoolLimits {
    /// 1,024 per sender, 16,384 in all, 10% price bump.
    fn default() -> Self {
        PoolLimits {
            max_per_sender: 1024,
            max_total: 16_384,
            price_bump_percent: 10,
        }
    }
}

/// Why the pool refused a transaction (the checks that need the pool; the
/// rest are in [`crate::validate`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The same bytes are already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// A transaction with this nonce is pooled and this one does not pay enough more.
    #[error(
        "replacement transaction underpriced: nonce {nonce} is pooled with max fee {old_max_fee} and tip {old_tip} wei, a replacement must raise both by {bump}%"
    )]
    ReplacementUnderpriced {
        /// The nonce.
        nonce: u64,
        /// The pooled transaction's max fee per gas.
        old_max_fee: u128,
        /// The pooled transaction's max priority fee per gas.
        old_tip: u128,
        /// The required raise, percent.
        bump: u128,
    },
    /// The sender has [`PoolLimits::max_per_sender`] transactions pooled.
    #[error(
        "txpool is full: sender {sender} has {count} pooled transactions, the limit is {limit}"
    )]
    SenderFull {
        /// The sender.
        sender: Address,
        /// Its pooled transactions.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The pool is full and this transaction pays no more than what it could evict.
    #[error("txpool is full: {limit} transactions pooled and none pays less than this one")]
    Full {
        /// The limit.
        limit: usize,
    },
}

/// Where an accepted transaction went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Ready for the next block.
    Pending,
    /// Waiting for a lower nonce.
    Queued,
}

type Key = (Address, NonceSpace);

/// The pool (see the module docs). Not synchronised: the node keeps it in a mutex.
#[derive(Debug, Default)]
pub struct Pool {
    limits: PoolLimits,
    by_hash: HashMap<[u8; 32], Key>,
    senders: HashMap<Key, Sender>,
    len: usize,
}

#[derive(Debug, Default)]
struct Sender {
    /// The state nonce as last seen (the first pending nonce).
    state_nonce: u64,
    txs: BTreeMap<u64, Arc<PooledTx>>,
}

impl Sender {
    /// Transactions in the gap-free run from the state nonce.
    fn pending_len(&self) -> usize {
        let mut next = self.state_nonce;
        for nonce in self.txs.keys() {
            if *nonce != next {
                break;
            }
            next += 1;
        }
        (next - self.state_nonce) as usize
    }
}

impl Pool {
    /// An empty pool with `limits`.
    pub fn new(limits: PoolLimits) -> Self {
        Pool {
            limits,
            ..Pool::default()
        }
    }

    /// Transactions pooled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(pending, queued)` counts.
    pub fn status(&self) -> (usize, usize) {
        let pending: usize = self.senders.values().map(Sender::pending_len).sum();
        (pending, self.len - pending)
    }

    /// Whether `hash` is pooled.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction `hash`.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<PooledTx>> {
        let key = self.by_hash.get(hash)?;
        self.senders[key]
            .txs
            .values()
            .find(|tx| tx.hash == *hash)
            .cloned()
    }

    /// The next nonce `sender` would use after its pending run, given its
    /// state nonce (`eth_getTransactionCount(…, "pending")`).
    pub fn pending_nonce(&self, sender: Address, space: NonceSpace, state_nonce: u64) -> u64 {
        let Some(entry) = self.senders.get(&(sender, space)) else {
            return state_nonce;
        };
        let mut next = state_nonce;
        while entry.txs.contains_key(&next) {
            next += 1;
        }
        next
    }

    /// Adds a validated transaction whose nonce is at least `state_nonce`.
    ///
    /// # Errors
    /// [`PoolError`].
    pub fn add(&mut self, tx: PooledTx, state_nonce: u64) -> Result<Placement, PoolError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let key = (tx.sender, tx.space);
        let bump = self.limits.price_bump_percent;
        let limits = self.limits;
        if let Some(old) = self.senders.get(&key).and_then(|s| s.txs.get(&tx.nonce)) {
            let raised =
                |old: u128, new: u128| new >= old.saturating_mul(100 + bump) / 100 && new > old;
            if !(raised(old.max_fee_per_gas, tx.max_fee_per_gas)
                && raised(old.max_priority_fee_per_gas, tx.max_priority_fee_per_gas))
            {
                return Err(PoolError::ReplacementUnderpriced {
                    nonce: tx.nonce,
                    old_max_fee: old.max_fee_per_gas,
                    old_tip: old.max_priority_fee_per_gas,
                    bump,
                });
            }
            let old_hash = old.hash;
            self.by_hash.remove(&old_hash);
            self.len -= 1;
        } else {
            let count = self.senders.get(&key).map_or(0, |s| s.txs.len());
            if count >= limits.max_per_sender {
                return Err(PoolError::SenderFull {
                    sender: tx.sender,
                    count,
                    limit: limits.max_per_sender,
                });
            }
            if self.len >= limits.max_total {
                self.evict_for(&tx)?;
            }
        }
        let hash = tx.hash;
        let nonce = tx.nonce;
        let entry = self.senders.entry(key).or_default();
        entry.state_nonce = state_nonce;
        entry.txs.insert(nonce, Arc::new(tx));
        self.by_hash.insert(hash, key);
        self.len += 1;
        let pending = entry.pending_len();
        Ok(if nonce < state_nonce + pending as u64 {
            Placement::Pending
        } else {
            Placement::Queued
        })
    }

    /// Makes room for `tx` by evicting the cheapest transaction that is last
    /// in its sender's run, if `tx` pays more.
    fn evict_for(&mut self, tx: &PooledTx) -> Result<(), PoolError> {
        let victim = self
            .senders
            .iter()
            .filter_map(|(key, s)| s.txs.values().next_back().map(|t| (*key, t.clone())))
            .min_by_key(|(_, t)| (t.max_priority_fee_per_gas, t.max_fee_per_gas));
        match victim {
            Some((key, victim))
                if (victim.max_priority_fee_per_gas, victim.max_fee_per_gas)
                    < (tx.max_priority_fee_per_gas, tx.max_fee_per_gas) =>
            {
                tracing::debug!(hash = %hex::encode(victim.hash), "pool full: evicted");
                self.remove_at(key, victim.nonce);
                Ok(())
            }
            _ => Err(PoolError::Full {
                limit: self.limits.max_total,
            }),
        }
    }

    fn remove_at(&mut self, key: Key, nonce: u64) -> Option<Arc<PooledTx>> {
        let entry = self.senders.get_mut(&key)?;
        let tx = entry.txs.remove(&nonce)?;
        if entry.txs.is_empty() {
            self.senders.remove(&key);
        }
        self.by_hash.remove(&tx.hash);
        self.len -= 1;
        Some(tx)
    }

    /// Removes `hash` and every later nonce of its sender (they can no
    /// longer be included in order); returns how many were removed.
    pub fn remove_with_descendants(&mut self, hash: &[u8; 32]) -> usize {
        let Some(key) = self.by_hash.get(hash).copied() else {
            return 0;
        };
        let Some(nonce) = self.senders[&key]
            .txs
            .values()
            .find(|t| t.hash == *hash)
            .map(|t| t.nonce)
        else {
            return 0;
        };
        let later: Vec<u64> = self.senders[&key]
            .txs
            .range(nonce..)
            .map(|(n, _)| *n)
            .collect();
        later
            .into_iter()
            .filter(|n| self.remove_at(key, *n).is_some())
            .count()
    }

    /// Records `sender`'s state nonce after a block and drops its
    /// transactions below it (included, or replaced by one that was).
    pub fn set_state_nonce(&mut self, sender: Address, space: NonceSpace, state_nonce: u64) {
        let key = (sender, space);
        let Some(entry) = self.senders.get_mut(&key) else {
            return;
        };
        entry.state_nonce = state_nonce;
        let stale: Vec<u64> = entry.txs.range(..state_nonce).map(|(n, _)| *n).collect();
        for nonce in stale {
            self.remove_at(key, nonce);
        }
    }

    /// The senders with pooled transactions.
    pub fn senders(&self) -> Vec<(Address, NonceSpace)> {
        self.senders.keys().copied().collect()
    }

    /// Ready transactions for a block: per sender the gap-free run from its
    /// state nonce (`nonce_of` gives it), merged across senders by effective
    /// tip at `base_fee` (highest first, ties by arrival order of the
    /// sender's first pooled nonce), until the next would not fit in
    /// `gas_budget` (Braid gas, summed over gas limits).
    pub fn select(
        &self,
        base_fee: u64,
        gas_budget: u64,
        mut nonce_of: impl FnMut(Address, NonceSpace) -> u64,
    ) -> Vec<Arc<PooledTx>> {
        // Per sender, its ready run in nonce order.
        let mut runs: Vec<Vec<Arc<PooledTx>>> = Vec::new();
        let mut keys: Vec<&Key> = self.senders.keys().collect();
        keys.sort();
        for key in keys {
            let entry = &self.senders[key];
            let mut next = nonce_of(key.0, key.1);
            let mut run = Vec::new();
            while let Some(tx) = entry.txs.get(&next) {
                run.push(tx.clone());
                next += 1;
            }
            if !run.is_empty() {
                run.reverse(); // pop() yields the lowest nonce
                runs.push(run);
            }
        }
        let mut heap: BinaryHeap<(u128, std::cmp::Reverse<usize>)> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| {
                run.last()
                    .map(|t| (t.effective_tip(base_fee), std::cmp::Reverse(i)))
            })
            .collect();
        let mut out = Vec::new();
        let mut gas = 0u64;
        while let Some((_, std::cmp::Reverse(i))) = heap.pop() {
            let Some(tx) = runs[i].pop() else { continue };
            if gas.saturating_add(tx.gas_limit) > gas_budget {
                // This sender's later nonces cannot go before it: stop the run.
                continue;
            }
            gas += tx.gas_limit;
            out.push(tx);
            if let Some(next) = runs[i].last() {
                heap.push((next.effective_tip(base_fee), std::cmp::Reverse(i)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(sender: u8, nonce: u64, tip: u128) -> PooledTx {
        let mut hash = [0u8; 32];
        hash[0] = sender;
        hash[1..9].copy_from_slice(&nonce.to_be_bytes());
        hash[9..25].copy_from_slice(&tip.to_be_bytes());
        PooledTx {
            hash,
            raw: RawTransaction::Ethereum(hash.to_vec()),
            sender: Address::repeat_byte(sender),
            space: NonceSpace::Ethereum,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2 * tip,
            max_priority_fee_per_gas: tip,
            max_cost: U256::ZERO,
        }
    }

    #[test]
    fn pending_and_queued_by_nonce() {
        let mut pool = Pool::new(PoolLimits::default());
        assert_eq!(pool.add(tx(1, 5, 1), 5), Ok(Placement::Pending));
        assert_eq!(pool.add(tx(1, 7, 1), 5), Ok(Placement::Queued));
        assert_eq!(pool.status(), (1, 1));
        assert_eq!(
            pool.pending_nonce(Address::repeat_byte(1), NonceSpace::Ethereum, 5),
            6
        );
        // Filling the gap promotes the queued one.
        assert_eq!(pool.add(tx(1, 6, 1), 5), Ok(Placement::Pending));
        assert_eq!(pool.status(), (3, 0));
        let ready = pool.select(0, u64::MAX, |_, _| 5);
        assert_eq!(ready.iter().map(|t| t.nonce).collect::<Vec<_>>(), [5, 6, 7]);
        // A block included 5 and 6.
        pool.set_state_nonce(Address::repeat_byte(1), NonceSpace::Ethereum, 7);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.add(tx(1, 7, 1), 7), Err(PoolError::AlreadyKnown));
    }

    #[test]
    fn replacement_needs_a_price_bump() {
        let mut pool = Pool::new(PoolLimits::default());
        pool.add(tx(1, 0, 100), 0).unwrap();
        let err = pool.add(tx(1, 0, 105), 0).unwrap_err();
        assert!(
            matches!(
                err,
                PoolError::ReplacementUnderpriced {
                    nonce: 0,
                    old_tip: 100,
                    ..
                }
            ),
            "{err}"
        );
        pool.add(tx(1, 0, 110), 0).unwrap();
        assert_eq!(pool.len(), 1);
        assert_eq!(
            pool.select(0, u64::MAX, |_, _| 0)[0].max_priority_fee_per_gas,
            110
        );
    }

    #[test]
    fn selection_orders_by_tip_and_keeps_nonce_order_within_the_gas_budget() {
        let mut pool = Pool::new(PoolLimits::default());
        pool.add(tx(1, 0, 1), 0).unwrap();
        pool.add(tx(1, 1, 50), 0).unwrap();
        pool.add(tx(2, 0, 10), 0).unwrap();
        let ready = pool.select(0, u64::MAX, |_, _| 0);
        let order: Vec<_> = ready.iter().map(|t| (t.sender.0[0], t.nonce)).collect();
        assert_eq!(order, [(2, 0), (1, 0), (1, 1)]);
        assert_eq!(pool.select(0, 42_000, |_, _| 0).len(), 2);
    }

    #[test]
    fn limits_and_eviction() {
        let limits = PoolLimits {
            max_per_sender: 2,
            max_total: 3,
            price_bump_percent: 10,
        };
        let mut pool = Pool::new(limits);
        pool.add(tx(1, 0, 5), 0).unwrap();
        pool.add(tx(1, 1, 5), 0).unwrap();
        assert!(matches!(
            pool.add(tx(1, 2, 5), 0),
            Err(PoolError::SenderFull {
                count: 2,
                limit: 2,
                ..
            })
        ));
        pool.add(tx(2, 0, 3), 0).unwrap();
        // Full: a cheaper one is refused, a dearer one evicts the cheapest tail.
        assert!(matches!(
            pool.add(tx(3, 0, 1), 0),
            Err(PoolError::Full { limit: 3 })
        ));
        pool.add(tx(3, 0, 9), 0).unwrap();
        assert_eq!(pool.len(), 3);
        assert!(!pool.contains(&tx(2, 0, 3).hash));
        assert_eq!(pool.remove_with_descendants(&tx(1, 0, 5).hash), 2);
        assert_eq!(pool.len(), 1);
    }
}
