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
//! Keys are encoded state keys (`engine ‖ identity ‖ engine_key`, as
//! [`StateKey::encode`]); values are `Some(value)` or `None` (deleted).

use indexmap::IndexMap;
use indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};
use rustc_hash::FxBuildHasher;

use crate::db::with_encoded_key;
use crate::key::KEY_PREFIX_LEN;
use crate::{EngineId, Identity, StateKey};

/// How to undo one write.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Undo {
    /// The write added the map's last key: undone by removing it.
    Inserted,
    /// The write replaced the value of the key at `index`.
    Replaced {
        index: usize,
        previous: Option<Vec<u8>>,
    },
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
    writes: IndexMap<Vec<u8>, Option<Vec<u8>>, FxBuildHasher>,
    journal: Vec<Undo>,
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
            self.writes.get(key).map(|v| v.as_deref())
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
            .find_map(|undo| match undo {
                Undo::Replaced { index: i, previous } if *i == index => Some(previous),
                _ => None,
            });
        Some(earliest.unwrap_or(value).as_deref())
    }

    /// Records a write (`Some`) or a deletion (`None`), journaled so that
    /// [`WriteJournal::revert`] can undo it.
    pub fn put(
        &mut self,
        engine: EngineId,
        identity: Identity,
        engine_key: &[u8],
        value: Option<Vec<u8>>,
    ) {
        let undo = with_encoded_key(engine, &identity, engine_key, |key| {
            match self.writes.raw_entry_mut_v1().from_key(key) {
                RawEntryMut::Occupied(mut entry) => Undo::Replaced {
                    index: entry.index(),
                    previous: entry.insert(value),
                },
                RawEntryMut::Vacant(entry) => {
                    entry.insert(key.to_vec(), value);
                    Undo::Inserted
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
                Some(Undo::Inserted) => {
                    self.writes.pop();
                }
                Some(Undo::Replaced { index, previous }) => self.writes[index] = previous,
                None => break,
            }
        }
        debug_assert_eq!(self.writes.len(), checkpoint.keys);
    }

    /// Makes every write so far final: the journal is emptied, no checkpoint
    /// taken before can be reverted to.
    pub fn accept(&mut self) {
        self.journal.clear();
    }

    /// Number of keys written or deleted.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
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
        self.writes
            .iter()
            .filter(move |(key, _)| {
                let (head, engine_key) = key.split_at(KEY_PREFIX_LEN);
                head[0] == engine.0 && head[1..] == identity.0 && engine_key.starts_with(prefix)
            })
            .map(|(key, value)| (&key[KEY_PREFIX_LEN..], value.as_deref()))
    }

    /// Every write, sorted by encoded key.
    pub fn into_changes(self) -> Vec<(StateKey, Option<Vec<u8>>)> {
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = self.writes.into_iter().collect();
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
}
