//! The batch update: descends the pages along the sorted changed paths,
//! rebuilds each touched page's slots, and folds them back up.

use std::borrow::Cow;

use crate::Result;
use crate::backend::Backend;

use super::MerkleTree;
use super::node::{EMPTY_ROOT, Hash, Leaf, Node, key_hash, value_hash};
use super::page::{Page, PageKey, SLOTS, fold, slot_of};

/// One change: a key path and `Some(value hash)` to set or `None` to delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Change {
    pub(super) key_hash: Hash,
    pub(super) value_hash: Option<Hash>,
}

impl Change {
    fn leaf(&self) -> Option<Leaf> {
        self.value_hash
            .map(|value_hash| Leaf::new(self.key_hash, value_hash))
    }
}

/// What an update produced: page writes (`None` deletes) and pages read from
/// the backend on the way (to warm the cache on apply).
#[derive(Debug, Default)]
pub(super) struct Staged {
    pub(super) writes: Vec<(PageKey, Option<Page>)>,
    pub(super) loaded: Vec<(PageKey, Page)>,
}

impl Staged {
    fn absorb(&mut self, other: Staged) {
        self.writes.extend(other.writes);
        self.loaded.extend(other.loaded);
    }
}

/// One thread's share of a page update: new slot nodes and staged writes.
type SlotsAndStaged = (Vec<(usize, Node)>, Staged);

/// Fewest changes per thread before [`MerkleTree::prepare`] splits the work.
const CHANGES_PER_THREAD: usize = 512;

impl MerkleTree {
    /// Hashes keys and values, on several threads for large batches.
    pub(super) fn hash_changes(&self, changes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Vec<Change> {
        let hash = |chunk: &[(Vec<u8>, Option<Vec<u8>>)]| -> Vec<Change> {
            chunk
                .iter()
                .map(|(key, value)| Change {
                    key_hash: key_hash(key),
                    value_hash: value.as_deref().map(value_hash),
                })
                .collect()
        };
        let threads = self.threads_for(changes.len());
        if threads < 2 {
            return hash(changes);
        }
        let chunk = changes.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = changes
                .chunks(chunk)
                .map(|part| scope.spawn(move || hash(part)))
                .collect();
            let mut out = Vec::with_capacity(changes.len());
            for handle in handles {
                out.extend(
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
            out
        })
    }

    fn threads_for(&self, changes: usize) -> usize {
        self.threads
            .min(SLOTS)
            .min(changes / CHANGES_PER_THREAD)
            .max(1)
    }

    /// Applies sorted, unique `changes` to the whole tree; returns the new root.
    pub(super) fn update_root(
        &self,
        backend: &dyn Backend,
        changes: &[Change],
        staged: &mut Staged,
    ) -> Result<Hash> {
        if changes.is_empty() {
            return Ok(self.root);
        }
        let old = if self.root == EMPTY_ROOT {
            None
        } else {
            Some(self.load(backend, &PageKey::ROOT)?)
        };
        let result = self.update_page(backend, PageKey::ROOT, old.as_deref(), changes, staged)?;
        if let Some(Cow::Owned(page)) = old {
            staged.loaded.push((PageKey::ROOT, page));
        }
        Ok(result.map_or(self.root, |node| node.hash()))
    }

    /// Applies `changes` (sorted, unique, all below `key`) to the page at
    /// `key`, whose current content is `old` (`None`: no page there yet, and
    /// then every change is an insert).
    ///
    /// Returns `None` when the page did not change, else the node the page's
    /// subtree now is; stages the page's put or delete.
    fn update_page(
        &self,
        backend: &dyn Backend,
        key: PageKey,
        old: Option<&Page>,
        changes: &[Change],
        staged: &mut Staged,
    ) -> Result<Option<Node>> {
        let mut slots = old.map_or([Node::Empty; SLOTS], Page::slots);
        let groups = slot_groups(changes, key.depth());
        let threads = if key.depth == 0 {
            self.threads_for(changes.len()).min(groups.len())
        } else {
            1
        };
        let updated = if threads < 2 {
            self.update_slots(backend, &key, &slots, &groups, staged)?
        } else {
            self.update_slots_parallel(
                backend,
                &key,
                &slots,
                &groups,
                changes.len(),
                threads,
                staged,
            )?
        };
        let mut changed = false;
        for (slot, node) in updated {
            if slots[slot] != node {
                slots[slot] = node;
                changed = true;
            }
        }
        if !changed && old.is_some() {
            return Ok(None);
        }
        let node = fold(&slots);
        let keep = match node {
            Node::Empty => false,
            Node::Leaf(_) => key.depth == 0,
            Node::Internal(_) => true,
        };
        if keep {
            staged.writes.push((key, Some(Page::from_slots(&slots))));
        } else if old.is_some() {
            staged.writes.push((key, None));
        }
        Ok(Some(node))
    }

    /// The new node of every slot that has changes.
    fn update_slots(
        &self,
        backend: &dyn Backend,
        key: &PageKey,
        slots: &[Node; SLOTS],
        groups: &[(usize, &[Change])],
        staged: &mut Staged,
    ) -> Result<Vec<(usize, Node)>> {
        groups
            .iter()
            .map(|&(slot, group)| {
                Ok((
                    slot,
                    self.update_slot(backend, key, slot, slots[slot], group, staged)?,
                ))
            })
            .collect()
    }

    /// [`MerkleTree::update_slots`] with the groups split over `threads`
    /// threads of about equal numbers of changes.
    #[expect(clippy::too_many_arguments, reason = "one private call site")]
    fn update_slots_parallel(
        &self,
        backend: &dyn Backend,
        key: &PageKey,
        slots: &[Node; SLOTS],
        groups: &[(usize, &[Change])],
        total: usize,
        threads: usize,
        staged: &mut Staged,
    ) -> Result<Vec<(usize, Node)>> {
        let mut parts: Vec<&[(usize, &[Change])]> = Vec::with_capacity(threads);
        let (mut start, mut seen) = (0, 0);
        for (i, (_, group)) in groups.iter().enumerate() {
            seen += group.len();
            if seen * threads >= total * (parts.len() + 1) && parts.len() + 1 < threads {
                parts.push(&groups[start..=i]);
                start = i + 1;
            }
        }
        parts.push(&groups[start..]);
        let results: Vec<Result<SlotsAndStaged>> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|part| {
                    scope.spawn(move || {
                        let mut local = Staged::default();
                        let nodes = self.update_slots(backend, key, slots, part, &mut local)?;
                        Ok((nodes, local))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut out = Vec::with_capacity(groups.len());
        for result in results {
            let (nodes, local) = result?;
            out.extend(nodes);
            staged.absorb(local);
        }
        Ok(out)
    }

    /// The new node of slot `slot` of the page at `parent`, now `old`, after
    /// `group` (its changes, sorted).
    fn update_slot(
        &self,
        backend: &dyn Backend,
        parent: &PageKey,
        slot: usize,
        old: Node,
        group: &[Change],
        staged: &mut Staged,
    ) -> Result<Node> {
        match old {
            Node::Empty => {
                let mut inserts = group.iter().filter(|change| change.value_hash.is_some());
                match (inserts.next(), inserts.next()) {
                    (None, _) => Ok(Node::Empty),
                    (Some(only), None) => Ok(only.leaf().map_or(Node::Empty, Node::Leaf)),
                    _ if group.iter().all(|change| change.value_hash.is_some()) => {
                        self.build(backend, parent.child(slot), group, staged)
                    }
                    _ => {
                        let inserts: Vec<Change> = group
                            .iter()
                            .filter(|change| change.value_hash.is_some())
                            .copied()
                            .collect();
                        self.build(backend, parent.child(slot), &inserts, staged)
                    }
                }
            }
            Node::Leaf(leaf) => {
                if let [only] = group
                    && only.key_hash == leaf.key_hash
                {
                    return Ok(only.leaf().map_or(Node::Empty, Node::Leaf));
                }
                // The slot's keys after the update: the changes' inserts plus
                // the present leaf unless a change replaces or deletes it.
                let at = group.partition_point(|change| change.key_hash < leaf.key_hash);
                let replaced = group
                    .get(at)
                    .is_some_and(|change| change.key_hash == leaf.key_hash);
                let mut keys: Vec<Change> = Vec::with_capacity(group.len() + 1);
                keys.extend(
                    group[..at]
                        .iter()
                        .filter(|change| change.value_hash.is_some()),
                );
                if !replaced {
                    keys.push(Change {
                        key_hash: leaf.key_hash,
                        value_hash: Some(leaf.value_hash),
                    });
                }
                keys.extend(
                    group[at..]
                        .iter()
                        .filter(|change| change.value_hash.is_some()),
                );
                match keys.as_slice() {
                    [] => Ok(Node::Empty),
                    [only] => Ok(only.leaf().map_or(Node::Empty, Node::Leaf)),
                    _ => self.build(backend, parent.child(slot), &keys, staged),
                }
            }
            Node::Internal(hash) => {
                let child = parent.child(slot);
                let page = self.load(backend, &child)?;
                let result = self.update_page(backend, child, Some(&page), group, staged)?;
                if let Cow::Owned(page) = page {
                    staged.loaded.push((child, page));
                }
                Ok(result.unwrap_or(Node::Internal(hash)))
            }
        }
    }

    /// A new page at `key` holding `inserts` (two or more, sorted, all `Some`).
    fn build(
        &self,
        backend: &dyn Backend,
        key: PageKey,
        inserts: &[Change],
        staged: &mut Staged,
    ) -> Result<Node> {
        debug_assert!(
            inserts.len() >= 2 && inserts.iter().all(|change| change.value_hash.is_some())
        );
        let node = self.update_page(backend, key, None, inserts, staged)?;
        Ok(node.expect("a page built from two or more keys changes"))
    }
}

/// Splits sorted `changes` into runs that fall in the same slot of a page at
/// `depth` bits.
fn slot_groups(changes: &[Change], depth: usize) -> Vec<(usize, &[Change])> {
    let mut groups = Vec::new();
    let mut rest = changes;
    while let Some(first) = rest.first() {
        let slot = slot_of(&first.key_hash, depth);
        let end = rest.partition_point(|change| slot_of(&change.key_hash, depth) <= slot);
        let (group, tail) = rest.split_at(end);
        groups.push((slot, group));
        rest = tail;
    }
    groups
}
