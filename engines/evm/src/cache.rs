//! [`BytecodeCache`]: analysed bytecode by code hash, shared across transactions.

use std::sync::RwLock;

use revm::bytecode::Bytecode;
use revm::primitives::B256;
use rustc_hash::FxHashMap;

/// Contracts the cache holds before it starts over (default).
pub const DEFAULT_BYTECODE_CACHE_CAPACITY: usize = 4096;

/// Analysed bytecode (legacy code with its jump table, or an EIP-7702
/// delegation) by keccak-256 code hash.
///
/// Code is content-addressed, so an entry never goes stale: the cache is
/// shared by every transaction and block the engine runs, whatever the state
/// underneath, and revm analyses each contract's jump table once instead of
/// once per transaction. Reads take a shared lock; [`Bytecode`] is an `Arc`,
/// so a hit is a reference-count increment. When full, the cache is cleared
/// and starts over (contracts are re-analysed on their next use).
#[derive(Debug)]
pub struct BytecodeCache {
    map: RwLock<FxHashMap<B256, Bytecode>>,
    capacity: usize,
}

impl Default for BytecodeCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_BYTECODE_CACHE_CAPACITY)
    }
}

impl BytecodeCache {
    /// An empty cache holding at most `capacity` contracts (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        BytecodeCache {
            map: RwLock::new(FxHashMap::default()),
            capacity: capacity.max(1),
        }
    }

    /// The analysed code with hash `code_hash`, if cached.
    pub fn get(&self, code_hash: &B256) -> Option<Bytecode> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(code_hash)
            .cloned()
    }

    /// Caches `code` under `code_hash` (the keccak-256 of its original bytes).
    pub fn insert(&self, code_hash: B256, code: Bytecode) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&code_hash) {
            map.clear();
        }
        map.insert(code_hash, code);
    }

    /// The analysed form of raw code bytes: an EIP-7702 delegation if the bytes
    /// are one (`0xEF0100 ‖ address`), legacy code with its jump table otherwise.
    pub fn analyse(raw: &[u8]) -> Bytecode {
        let bytes = revm::primitives::Bytes::copy_from_slice(raw);
        Bytecode::new_raw_checked(bytes.clone()).unwrap_or_else(|_| Bytecode::new_legacy(bytes))
    }

    /// Number of cached contracts.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
