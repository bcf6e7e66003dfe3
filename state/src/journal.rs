//! The write journal: every working set of a block under construction in one
//! map, with a journal that undoes writes back to a checkpoint.
//!
//! DESIGN.md layers working sets: each invocation writes into its own set over
//! its caller's, HALT merges it into the caller's, a fault drops it. The
//! journal gives the same reads and the same outcome with one map instead of
//! a chain of them (revm's journal and checkpoints, RFC 0002): an invocation
//! takes a [`Checkpoint`] when it starts; its writes go straight into the
//! map, each recording what it replaced; HALT keeps them (they now count as
//! the caller's); a fault [`reverts`](WriteJournal::revert) to the
//! checkpoint. A read is one hash probe whatever the call depth, a commit
//! costs nothing, and a write allocates at most its key (when new) and its
//! value.
//!
//! **Owners and selective reverts** (RFC 0010 "The journal"). Every write
//! records an owner (the kernel's entry id of the invocation that made it).
//! Without YIELD the writes since a checkpoint all belong to the invocation
//! being reverted and [`WriteJournal::revert`] undoes them newest first. With
//! YIELD a handler lower on the stack writes while the subtree above it is
//! paused, so a paused invocation that later faults must lose its own writes
//! and keep the handler's, which sit after them:
//! [`WriteJournal::revert_owned`] undoes only the writes of the owners it is
//! told to, as if they had never been made. An owned write whose key a kept
//! write replaced later is spliced out of the history (the oldest later kept
//! write inherits what it replaced), so a content-addressed blob that a
//! cancelled subtree created and a handler wrote again survives. A key whose
//! first write of the block is undone out of order stays in the map as a
//! tombstone (reads see it as never written) so that the indices other undo
//! entries hold stay valid.
//!
//! Keys are encoded state keys (`engine ‖ identity ‖ engine_key`, as
//! [`StateKey::encode`]); values are `Some(value)` or `None` (deleted).

use indexmap::IndexMap;
use indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::db::with_encoded_key;
use crate::key::KEY_PREFIX_LEN;
use crate::{EngineId, Identity, StateKey};

/// The owner of writes made outside any invocation (the chain's own writes,
/// deploys): never reverted selectively, only by a checkpoint's
/// [`WriteJournal::revert`].
pub const NO_OWNER: u32 = 0;

/// What a key holds in the map: `None` is a tombstone (not written in this
/// block: an undone first write), `Some(None)` a deletion, `Some(Some(v))` a
/// value.
type Slot = Option<Option<Vec<u8>>>;

/// How to undo one write.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Undo {
    /// The key's index in the map.
    index: usize,
    /// Who wrote it (the kernel's entry id, or [`NO_OWNER`]).
    owner: u32,
    /// What the key held before: `None` if it was not written in this block.
    previous: Slot,
}

/// A point [`WriteJournal::revert`] can return to: the journal's and the
/// map's lengths when it was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    journal_len: usize,
    keys: usize,
}

/// The writes of a block under construction, keyed by encoded state key, and
/// the journal of the writes not yet [`accepted`](WriteJournal::accept).
#[derive(Clone, Debug, Default)]
pub struct WriteJournal {
    writes: IndexMap<Vec<u8>, Slot, FxBuildHasher>,
    journal: Vec<Undo>,
    /// Number of tombstones in `writes`.
    tombstones: usize,
}

impl WriteJournal {
    /// An empty set of writes.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the writes say of a key: `None` if it was never written,
    /// `Some(None)` if it was deleted, `Some(Some(value))` if it was set.
    pub fn get(
        &self,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Option<Option<&[u8]>> {
        if self.writes.is_empty() {
            return None;
        }
        with_encoded_key(engine, identity, engine_key, |key| {
            self.writes.get(key).and_then(read_slot)
        })
    }

    /// What [`WriteJournal::get`] answered when `checkpoint` was taken: the
    /// writes made since then are looked through. Costs one probe, plus a
    /// walk over the journal since `checkpoint` for a key written before it.
    pub fn get_as_of(
        &self,
        checkpoint: Checkpoint,
        engine: EngineId,
        identity: &Identity,
        engine_key: &[u8],
    ) -> Option<Option<&[u8]>> {
        if self.writes.is_empty() {
            return None;
        }
        let (index, value) = with_encoded_key(engine, identity, engine_key, |key| {
            self.writes.get_full(key).map(|(i, _, v)| (i, v))
        })?;
        if index >= checkpoint.keys {
            return None;
        }
        // The first write to the key since the checkpoint kept what it had then.
        let earliest = self.journal[checkpoint.journal_len..]
            .iter()
            .find(|undo| undo.index == index)
            .map(|undo| &undo.previous);
        read_slot(earliest.unwrap_or(value))
    }

    /// Records a write (`Some`) or a deletion (`None`) made outside any
    /// invocation ([`NO_OWNER`]), journaled so that
    /// [`WriteJournal::revert`] can undo it.
    pub fn put(
        &mut self,
        engine: EngineId,
        identity: Identity,
        engine_key: &[u8],
        value: Option<Vec<u8>>,
    ) {
        self.put_owned(NO_OWNER, engine, identity, engine_key, value);
    }

    /// Records a write (`Some`) or a deletion (`None`) by `owner`, journaled
    /// so that [`WriteJournal::revert`] and [`WriteJournal::revert_owned`]
    /// can undo it.
    pub fn put_owned(
        &mut self,
        owner: u32,
        engine: EngineId,
        identity: Identity,
        engine_key: &[u8],
        value: Option<Vec<u8>>,
    ) {
        let (writes, tombstones) = (&mut self.writes, &mut self.tombstones);
        let next = writes.len();
        let undo = with_encoded_key(engine, &identity, engine_key, |key| {
            match writes.raw_entry_mut_v1().from_key(key) {
                RawEntryMut::Occupied(mut entry) => {
                    let previous = entry.insert(Some(value));
                    if previous.is_none() {
                        *tombstones -= 1;
                    }
                    Undo {
                        index: entry.index(),
                        owner,
                        previous,
                    }
                }
                RawEntryMut::Vacant(entry) => {
                    entry.insert(key.to_vec(), Some(value));
                    Undo {
                        index: next,
                        owner,
                        previous: None,
                    }
                }
            }
        });
        self.journal.push(undo);
    }

    /// The point to [`WriteJournal::revert`] to, taken when an invocation starts.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal_len: self.journal.len(),
            keys: self.writes.len(),
        }
    }

    /// Undoes every write made since `checkpoint`, newest first.
    pub fn revert(&mut self, checkpoint: Checkpoint) {
        while self.journal.len() > checkpoint.journal_len {
            match self.journal.pop() {
                Some(undo) => self.restore(undo.index, undo.previous),
                None => break,
            }
        }
        self.drop_trailing_tombstones();
        debug_assert!(self.tombstones > 0 || self.writes.len() == checkpoint.keys);
    }

    /// Undoes the writes made since `checkpoint` whose owner `is_owned`
    /// accepts, as if they had never been made, and keeps the others. An
    /// undone write of a key that a kept write replaced later leaves the key
    /// with the kept value (the kept write now replaced what the undone one
    /// did). No checkpoint taken after `checkpoint` may be used afterwards.
    ///
    /// Costs one pass over the journal since `checkpoint`, newest first,
    /// with one `is_owned` call per entry.
    pub fn revert_owned(&mut self, checkpoint: Checkpoint, mut is_owned: impl FnMut(u32) -> bool) {
        let start = checkpoint.journal_len.min(self.journal.len());
        // For each key index: the position of the oldest kept write seen so
        // far in the walk (the walk goes newest first).
        let mut kept_later: FxHashMap<usize, usize> = FxHashMap::default();
        let mut undone = vec![false; self.journal.len() - start];
        for position in (start..self.journal.len()).rev() {
            let index = self.journal[position].index;
            if !is_owned(self.journal[position].owner) {
                kept_later.insert(index, position);
                continue;
            }
            let previous = std::mem::take(&mut self.journal[position].previous);
            match kept_later.get(&index) {
                Some(&later) => self.journal[later].previous = previous,
                None => self.restore_in_place(index, previous),
            }
            undone[position - start] = true;
        }
        let mut position = 0;
        self.journal.retain(|_| {
            let keep = position < start || !undone[position - start];
            position += 1;
            keep
        });
        self.drop_trailing_tombstones();
    }

    /// Puts `previous` back at `index`: the map's last key is removed when it
    /// was not written before, any other key not written before becomes a
    /// tombstone.
    fn restore(&mut self, index: usize, previous: Slot) {
        if previous.is_none() && index + 1 == self.writes.len() {
            self.writes.pop();
        } else {
            self.restore_in_place(index, previous);
        }
    }

    /// Puts `previous` back at `index` without removing the key.
    fn restore_in_place(&mut self, index: usize, previous: Slot) {
        let was_tombstone = self.writes[index].is_none();
        let is_tombstone = previous.is_none();
        self.writes[index] = previous;
        match (was_tombstone, is_tombstone) {
            (false, true) => self.tombstones += 1,
            (true, false) => self.tombstones -= 1,
            _ => {}
        }
    }

    /// Removes tombstones at the end of the map: no undo entry names them
    /// (a tombstone is left only when the write that added its key is
    /// undone, with the writes after it).
    fn drop_trailing_tombstones(&mut self) {
        while self.tombstones > 0 && matches!(self.writes.last(), Some((_, None))) {
            self.writes.pop();
            self.tombstones -= 1;
        }
    }

    /// Makes every write so far final: the journal is emptied, no checkpoint
    /// taken before can be reverted to.
    pub fn accept(&mut self) {
        self.journal.clear();
    }

    /// Number of keys written or deleted.
    pub fn len(&self) -> usize {
        self.writes.len() - self.tombstones
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The writes of one scope whose engine key starts with `prefix`, as
    /// `(engine_key, value)`. Visits every write of the set (it is meant for
    /// the rare storage wipe, not for reads).
    pub fn scope_writes<'a>(
        &'a self,
        engine: EngineId,
        identity: &Identity,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let identity = *identity;
        self.writes.iter().filter_map(move |(key, slot)| {
            let value = read_slot(slot)?;
            let (head, engine_key) = key.split_at(KEY_PREFIX_LEN);
            let ours =
                head[0] == engine.0 && head[1..] == identity.0 && engine_key.starts_with(prefix);
            ours.then_some((engine_key, value))
        })
    }

    /// Every write, sorted by encoded key.
    pub fn into_changes(self) -> Vec<(StateKey, Option<Vec<u8>>)> {
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = self
            .writes
            .into_iter()
            .filter_map(|(key, slot)| slot.map(|value| (key, value)))
            .collect();
        writes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        writes
            .into_iter()
            .map(|(mut key, value)| {
                let mut identity = Identity::ZERO;
                identity.0.copy_from_slice(&key[1..KEY_PREFIX_LEN]);
                let engine = EngineId(key[0]);
                // The engine key stays in the key's own allocation.
                key.drain(..KEY_PREFIX_LEN);
                (StateKey::new(engine, identity, key), value)
            })
            .collect()
    }
}

/// A map slot as [`WriteJournal::get`] answers it: a tombstone is "never written".
fn read_slot(slot: &Slot) -> Option<Option<&[u8]>> {
    slot.as_ref().map(|v| v.as_deref())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const ID: Identity = Identity([7; 20]);

    fn value(journal: &WriteJournal, key: &[u8]) -> Option<Option<Vec<u8>>> {
        journal
            .get(EngineId::EVM, &ID, key)
            .map(|v| v.map(<[u8]>::to_vec))
    }

    #[test]
    fn revert_undoes_overwrites_deletions_and_new_keys() {
        let mut journal = WriteJournal::new();
        journal.put(EngineId::EVM, ID, b"a", Some(b"1".to_vec()));
        journal.accept();
        let outer = journal.checkpoint();
        journal.put(EngineId::EVM, ID, b"a", Some(b"2".to_vec()));
        let inner = journal.checkpoint();
        journal.put(EngineId::EVM, ID, b"a", None);
        journal.put(EngineId::EVM, ID, b"b", Some(b"3".to_vec()));
        assert_eq!(value(&journal, b"a"), Some(None));
        assert_eq!(
            journal
                .get_as_of(inner, EngineId::EVM, &ID, b"a")
                .map(|v| v.map(<[u8]>::to_vec)),
            Some(Some(b"2".to_vec()))
        );
        assert_eq!(
            journal
                .get_as_of(outer, EngineId::EVM, &ID, b"a")
                .map(|v| v.map(<[u8]>::to_vec)),
            Some(Some(b"1".to_vec()))
        );
        assert_eq!(journal.get_as_of(outer, EngineId::EVM, &ID, b"b"), None);
        journal.revert(inner);
        assert_eq!(value(&journal, b"a"), Some(Some(b"2".to_vec())));
        assert_eq!(value(&journal, b"b"), None);
        journal.revert(outer);
        assert_eq!(value(&journal, b"a"), Some(Some(b"1".to_vec())));
        assert_eq!(journal.len(), 1);
    }

    #[test]
    fn scope_writes_and_changes_keep_keys_apart() {
        let (a, b) = (Identity([1; 20]), Identity([2; 20]));
        let mut set = WriteJournal::new();
        set.put(EngineId::EVM, a, &[1, 9], Some(vec![1]));
        set.put(EngineId::EVM, a, &[0], Some(vec![2]));
        set.put(EngineId::EVM, b, &[1, 9], None);
        set.put(EngineId::PVM, a, &[1, 8], Some(vec![3]));
        let mut storage: Vec<_> = set.scope_writes(EngineId::EVM, &a, &[1]).collect();
        storage.sort();
        assert_eq!(storage, vec![(&[1u8, 9][..], Some(&[1u8][..]))]);
        // A long key (past the stack buffer) reads back too.
        let long = vec![5u8; 100];
        set.put(EngineId::EVM, b, &long, Some(vec![4]));
        assert_eq!(set.get(EngineId::EVM, &b, &long), Some(Some(&[4u8][..])));
        let changes = set.into_changes();
        let keys: Vec<StateKey> = changes.iter().map(|(k, _)| k.clone()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "changes come sorted by key");
        assert_eq!(
            changes[0],
            (StateKey::new(EngineId::EVM, a, vec![0]), Some(vec![2]))
        );
        assert_eq!(changes.len(), 5);
    }

    /// One step of a nested run: write, or enter / leave an invocation.
    #[derive(Clone, Debug)]
    enum Step {
        Put(u8, Option<u8>),
        Enter,
        Halt,
        Fault,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0u8..6, proptest::option::of(any::<u8>())).prop_map(|(k, v)| Step::Put(k, v)),
            1 => Just(Step::Enter),
            1 => Just(Step::Halt),
            1 => Just(Step::Fault),
        ]
    }

    type Layer = BTreeMap<u8, Option<u8>>;

    /// DESIGN.md's layered working sets, naively: a stack of maps.
    fn layered_get(layers: &[Layer], key: u8) -> Option<Option<u8>> {
        layers.iter().rev().find_map(|l| l.get(&key).copied())
    }

    proptest! {
        /// The journal reads, at every depth and every checkpoint, what a
        /// stack of merged-on-halt, dropped-on-fault working sets reads.
        #[test]
        fn journal_matches_layered_working_sets(steps in proptest::collection::vec(step(), 0..60)) {
            let mut journal = WriteJournal::new();
            let mut checkpoints = Vec::new();
            let mut layers: Vec<Layer> = vec![Layer::new()];
            for step in steps {
                match step {
                    Step::Put(k, v) => {
                        journal.put(EngineId::EVM, ID, &[k], v.map(|v| vec![v]));
                        layers.last_mut().unwrap().insert(k, v);
                    }
                    Step::Enter => {
                        checkpoints.push(journal.checkpoint());
                        layers.push(Layer::new());
                    }
                    Step::Halt if layers.len() > 1 => {
                        checkpoints.pop();
                        let top = layers.pop().unwrap();
                        layers.last_mut().unwrap().extend(top);
                    }
                    Step::Fault if layers.len() > 1 => {
                        journal.revert(checkpoints.pop().unwrap());
                        layers.pop();
                    }
                    Step::Halt | Step::Fault => {}
                }
                for k in 0..6 {
                    let got = journal.get(EngineId::EVM, &ID, &[k]).map(|v| v.map(|v| v[0]));
                    prop_assert_eq!(got, layered_get(&layers, k));
                    for (depth, checkpoint) in checkpoints.iter().enumerate() {
                        let got = journal
                            .get_as_of(*checkpoint, EngineId::EVM, &ID, &[k])
                            .map(|v| v.map(|v| v[0]));
                        prop_assert_eq!(got, layered_get(&layers[..=depth], k));
                    }
                }
            }
        }
    }

    #[test]
    fn a_handler_rewrite_of_a_blob_survives_the_cancelled_subtree_that_made_it() {
        // Entry 2 (paused subtree) inserts blob X and a key of its own; the
        // handler (entry 1) writes X again (same bytes) and a key of its own;
        // entry 2 is then cancelled: X and the handler's key survive.
        let mut journal = WriteJournal::new();
        let start = journal.checkpoint();
        journal.put_owned(1, EngineId::EVM, ID, b"h0", Some(b"a".to_vec()));
        let paused = journal.checkpoint();
        journal.put_owned(2, EngineId::EVM, ID, b"blob", Some(b"X".to_vec()));
        journal.put_owned(2, EngineId::EVM, ID, b"b", Some(b"b".to_vec()));
        journal.put_owned(1, EngineId::EVM, ID, b"blob", Some(b"X".to_vec()));
        journal.put_owned(1, EngineId::EVM, ID, b"h1", Some(b"c".to_vec()));
        journal.revert_owned(paused, |owner| owner == 2);
        assert_eq!(value(&journal, b"blob"), Some(Some(b"X".to_vec())));
        assert_eq!(value(&journal, b"b"), None);
        assert_eq!(value(&journal, b"h1"), Some(Some(b"c".to_vec())));
        assert_eq!(journal.len(), 3);
        assert_eq!(journal.get_as_of(paused, EngineId::EVM, &ID, b"blob"), None);
        // The handler's write of X is now the one that added the key: a
        // revert of everything removes it.
        journal.revert(start);
        assert!(journal.is_empty());
        assert_eq!(journal.into_changes(), vec![]);
    }

    #[test]
    fn an_out_of_order_undo_of_a_first_write_leaves_a_tombstone_reads_skip() {
        let mut journal = WriteJournal::new();
        let start = journal.checkpoint();
        journal.put_owned(2, EngineId::EVM, ID, b"b", Some(b"1".to_vec()));
        journal.put_owned(1, EngineId::EVM, ID, b"h", Some(b"2".to_vec()));
        journal.revert_owned(start, |owner| owner == 2);
        assert_eq!(value(&journal, b"b"), None);
        assert_eq!(journal.len(), 1);
        assert_eq!(journal.scope_writes(EngineId::EVM, &ID, b"").count(), 1);
        // Written again, the key reads back and reverts to "never written".
        let again = journal.checkpoint();
        journal.put_owned(3, EngineId::EVM, ID, b"b", Some(b"3".to_vec()));
        assert_eq!(journal.get_as_of(again, EngineId::EVM, &ID, b"b"), None);
        assert_eq!(value(&journal, b"b"), Some(Some(b"3".to_vec())));
        journal.revert(again);
        assert_eq!(value(&journal, b"b"), None);
        let changes = journal.into_changes();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].0.engine_key, b"h");
    }

    /// One step of a run with owners: the kernel's use of the journal under
    /// YIELD, where a revert may be of some owners only.
    #[derive(Clone, Debug)]
    enum OwnedStep {
        /// A write by an owner; keys 0..4 are ordinary, 4..6 are
        /// content-addressed (the value is always the key).
        Put(u32, u8, Option<u8>),
        Checkpoint,
        /// Undo everything since the newest checkpoint.
        Revert,
        /// Undo the writes since checkpoint `n` (modulo the live ones) of
        /// the owners in the mask.
        RevertOwned(usize, u8),
        Accept,
    }

    fn owned_step() -> impl Strategy<Value = OwnedStep> {
        prop_oneof![
            8 => (1u32..7, 0u8..6, proptest::option::of(any::<u8>())).prop_map(|(o, k, v)| {
                let v = if k >= 4 { Some(k) } else { v };
                OwnedStep::Put(o, k, v)
            }),
            2 => Just(OwnedStep::Checkpoint),
            1 => Just(OwnedStep::Revert),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(n, m)| OwnedStep::RevertOwned(n, m)),
            1 => Just(OwnedStep::Accept),
        ]
    }

    /// The reference: every surviving write in order, each with its owner.
    /// A key reads as its last surviving write; a revert removes writes.
    #[derive(Default)]
    struct Model {
        writes: Vec<(u32, u8, Option<u8>)>,
        /// Positions in `writes` where the live checkpoints were taken.
        checkpoints: Vec<usize>,
        /// Writes before this position were accepted (never reverted).
        accepted: usize,
    }

    impl Model {
        fn read(&self, key: u8, before: usize) -> Option<Option<u8>> {
            self.writes[..before]
                .iter()
                .rev()
                .find(|w| w.1 == key)
                .map(|w| w.2)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Owner-tagged writes, checkpoints, LIFO reverts and selective
        /// reverts read, at every step and as of every live checkpoint,
        /// exactly what a log of surviving writes per owner reads.
        #[test]
        fn owned_reverts_match_a_log_of_surviving_writes(steps in proptest::collection::vec(owned_step(), 0..80)) {
            let mut journal = WriteJournal::new();
            let mut checkpoints: Vec<Checkpoint> = Vec::new();
            let mut model = Model::default();
            for step in steps {
                match step {
                    OwnedStep::Put(owner, k, v) => {
                        journal.put_owned(owner, EngineId::EVM, ID, &[k], v.map(|v| vec![v]));
                        model.writes.push((owner, k, v));
                    }
                    OwnedStep::Checkpoint => {
                        checkpoints.push(journal.checkpoint());
                        model.checkpoints.push(model.writes.len());
                    }
                    OwnedStep::Revert => {
                        if let Some(cp) = checkpoints.pop() {
                            journal.revert(cp);
                            let at = model.checkpoints.pop().unwrap();
                            model.writes.truncate(at);
                        }
                    }
                    OwnedStep::RevertOwned(n, mask) => {
                        if !checkpoints.is_empty() {
                            let n = n % checkpoints.len();
                            let owned = |owner: u32| mask & (1 << owner) != 0;
                            journal.revert_owned(checkpoints[n], owned);
                            checkpoints.truncate(n + 1);
                            model.checkpoints.truncate(n + 1);
                            let at = model.checkpoints[n];
                            let mut i = 0;
                            model.writes.retain(|w| {
                                i += 1;
                                i <= at || !owned(w.0)
                            });
                        }
                    }
                    OwnedStep::Accept => {
                        journal.accept();
                        checkpoints.clear();
                        model.checkpoints.clear();
                        model.accepted = model.writes.len();
                    }
                }
                prop_assert!(model.accepted <= model.writes.len());
                for k in 0..6 {
                    let got = journal.get(EngineId::EVM, &ID, &[k]).map(|v| v.map(|v| v[0]));
                    prop_assert_eq!(got, model.read(k, model.writes.len()), "key {}", k);
                    for (cp, at) in checkpoints.iter().zip(&model.checkpoints) {
                        let got = journal
                            .get_as_of(*cp, EngineId::EVM, &ID, &[k])
                            .map(|v| v.map(|v| v[0]));
                        prop_assert_eq!(got, model.read(k, *at), "key {} as of {}", k, at);
                    }
                }
                let written = (0..6).filter(|k| model.read(*k, model.writes.len()).is_some()).count();
                prop_assert_eq!(journal.len(), written);
            }
            let expected: Vec<(StateKey, Option<Vec<u8>>)> = (0..6u8)
                .filter_map(|k| {
                    let v = model.read(k, model.writes.len())?;
                    Some((StateKey::new(EngineId::EVM, ID, vec![k]), v.map(|v| vec![v])))
                })
                .collect();
            prop_assert_eq!(journal.into_changes(), expected);
        }
    }
}
