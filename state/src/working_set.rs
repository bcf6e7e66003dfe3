//! Working sets: the writes of one invocation (or of a transaction, or of a
//! block), layered over whatever is below them.
//!
//! A working set is a map `(engine, identity) -> engine_key -> Some(value) |
//! None (deleted)`. Committing one merges it into its parent; discarding one
//! drops it. Lookups are indexed by engine and identity first, so the hot path
//! never builds a full encoded key.

use rustc_hash::FxHashMap;

use crate::{EngineId, Identity, StateKey};

/// The writes of one scope: engine key -> `Some(value)` or `None` (deleted).
type ScopeWrites = FxHashMap<Vec<u8>, Option<Vec<u8>>>;

/// Writes keyed by scope, then engine key. `None` records a deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkingSet {
    scopes: FxHashMap<(EngineId, Identity), ScopeWrites>,
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
        self.scopes
            .get(&(engine, *identity))
            .and_then(|scope| scope.get(engine_key))
            .map(|v| v.as_deref())
    }

    /// Records a write (`Some`) or a deletion (`None`).
    pub fn put(
        &mut self,
        engine: EngineId,
        identity: Identity,
        engine_key: Vec<u8>,
        value: Option<Vec<u8>>,
    ) {
        self.scopes
            .entry((engine, identity))
            .or_default()
            .insert(engine_key, value);
    }

    /// Moves every write of `self` into `parent`, overriding the parent's.
    pub fn merge_into(self, parent: &mut WorkingSet) {
        if parent.scopes.is_empty() {
            parent.scopes = self.scopes;
            return;
        }
        for (scope, writes) in self.scopes {
            match parent.scopes.get_mut(&scope) {
                Some(existing) => existing.extend(writes),
                None => {
                    parent.scopes.insert(scope, writes);
                }
            }
        }
    }

    /// Number of keys written or deleted.
    pub fn len(&self) -> usize {
        self.scopes.values().map(|s| s.len()).sum()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.scopes.values().all(|s| s.is_empty())
    }

    /// The writes of one scope whose engine key starts with `prefix`.
    pub fn scope_writes<'a>(
        &'a self,
        engine: EngineId,
        identity: &Identity,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        self.scopes
            .get(&(engine, *identity))
            .into_iter()
            .flat_map(move |scope| scope.iter())
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// The scopes this set wrote to.
    pub fn scopes(&self) -> impl Iterator<Item = (EngineId, Identity)> + '_ {
        self.scopes.keys().copied()
    }

    /// Every write, sorted by encoded key.
    pub fn into_changes(self) -> Vec<(StateKey, Option<Vec<u8>>)> {
        let mut out: Vec<(StateKey, Option<Vec<u8>>)> = self
            .scopes
            .into_iter()
            .flat_map(|((engine, identity), writes)| {
                writes
                    .into_iter()
                    .map(move |(k, v)| (StateKey::new(engine, identity, k), v))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_overrides_parent_on_merge() {
        let id = Identity([7; 20]);
        let mut parent = WorkingSet::new();
        parent.put(EngineId::EVM, id, b"a".to_vec(), Some(b"1".to_vec()));
        parent.put(EngineId::EVM, id, b"b".to_vec(), Some(b"2".to_vec()));
        let mut child = WorkingSet::new();
        child.put(EngineId::EVM, id, b"a".to_vec(), None);
        child.put(EngineId::PVM, id, b"c".to_vec(), Some(b"3".to_vec()));
        child.merge_into(&mut parent);
        assert_eq!(parent.get(EngineId::EVM, &id, b"a"), Some(None));
        assert_eq!(parent.get(EngineId::EVM, &id, b"b"), Some(Some(&b"2"[..])));
        assert_eq!(parent.get(EngineId::PVM, &id, b"c"), Some(Some(&b"3"[..])));
        assert_eq!(parent.get(EngineId::PVM, &id, b"zz"), None);
        assert_eq!(parent.len(), 3);
    }
}
