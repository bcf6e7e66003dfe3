//! Working sets: the writes of one invocation (or of a transaction, or of a
//! block), layered over whatever is below them.
//!
//! A working set is one map from the encoded state key (`engine ‖ identity ‖
//! engine_key`, as [`StateKey::encode`]) to `Some(value)` or `None`
//! (deleted). Committing one merges it into its parent; discarding one drops
//! it. A lookup encodes its key on the stack (keys of up to 64 bytes, every
//! EVM key among them) and costs one hash; a write allocates the key and the
//! value and nothing else.

use rustc_hash::FxHashMap;

use crate::db::with_encoded_key;
use crate::key::KEY_PREFIX_LEN;
use crate::{EngineId, Identity, StateKey};

/// Writes a working set has room for after its first one, without growing.
const FIRST_CAPACITY: usize = 7;

/// Writes keyed by encoded state key. `None` records a deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkingSet {
    writes: FxHashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl WorkingSet {
    /// An empty working set.
    pub fn new() -> Self {
        Self::default()
    }

    /// What this set says of a key: `None` if it never wrote it, `Some(None)`
    /// if it deleted it, `Some(Some(value))` if it set it.
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

    /// Records a write (`Some`) or a deletion (`None`).
    pub fn put(
        &mut self,
        engine: EngineId,
        identity: Identity,
        engine_key: &[u8],
        value: Option<Vec<u8>>,
    ) {
        if self.writes.capacity() == 0 {
            // An invocation writes a handful of keys: one allocation for them.
            self.writes.reserve(FIRST_CAPACITY);
        }
        let key = crate::key::encode_parts(engine, &identity, engine_key);
        self.writes.insert(key, value);
    }

    /// Moves every write of `self` into `parent`, overriding the parent's.
    pub fn merge_into(self, parent: &mut WorkingSet) {
        if parent.writes.is_empty() {
            parent.writes = self.writes;
        } else {
            parent.writes.extend(self.writes);
        }
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

    /// The scopes this set wrote to, each once, ascending.
    pub fn scopes(&self) -> impl Iterator<Item = (EngineId, Identity)> + '_ {
        let mut scopes: Vec<(EngineId, Identity)> =
            self.writes.keys().map(|key| split(key).0).collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes.into_iter()
    }

    /// Every write, sorted by encoded key.
    pub fn into_changes(self) -> Vec<(StateKey, Option<Vec<u8>>)> {
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = self.writes.into_iter().collect();
        writes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        writes
            .into_iter()
            .map(|(mut key, value)| {
                let (engine, identity) = split(&key).0;
                // The engine key stays in the key's own allocation.
                key.drain(..KEY_PREFIX_LEN);
                (StateKey::new(engine, identity, key), value)
            })
            .collect()
    }
}

/// `(engine, identity)` and the engine key of an encoded key written by
/// [`WorkingSet::put`] (at least [`KEY_PREFIX_LEN`] bytes).
fn split(key: &[u8]) -> ((EngineId, Identity), &[u8]) {
    let (head, engine_key) = key.split_at(KEY_PREFIX_LEN);
    let mut identity = Identity::ZERO;
    identity.0.copy_from_slice(&head[1..]);
    ((EngineId(head[0]), identity), engine_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_overrides_parent_on_merge() {
        let id = Identity([7; 20]);
        let mut parent = WorkingSet::new();
        parent.put(EngineId::EVM, id, b"a", Some(b"1".to_vec()));
        parent.put(EngineId::EVM, id, b"b", Some(b"2".to_vec()));
        let mut child = WorkingSet::new();
        child.put(EngineId::EVM, id, b"a", None);
        child.put(EngineId::PVM, id, b"c", Some(b"3".to_vec()));
        child.merge_into(&mut parent);
        assert_eq!(parent.get(EngineId::EVM, &id, b"a"), Some(None));
        assert_eq!(parent.get(EngineId::EVM, &id, b"b"), Some(Some(&b"2"[..])));
        assert_eq!(parent.get(EngineId::PVM, &id, b"c"), Some(Some(&b"3"[..])));
        assert_eq!(parent.get(EngineId::PVM, &id, b"zz"), None);
        assert_eq!(parent.len(), 3);
        assert_eq!(
            parent.scopes().collect::<Vec<_>>(),
            vec![(EngineId::EVM, id), (EngineId::PVM, id)]
        );
    }

    #[test]
    fn scope_writes_and_changes_keep_keys_apart() {
        let (a, b) = (Identity([1; 20]), Identity([2; 20]));
        let mut set = WorkingSet::new();
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
        assert!(
            changes
                .iter()
                .all(|(k, _)| k.encode().len() == KEY_PREFIX_LEN + k.engine_key.len())
        );
    }
}
