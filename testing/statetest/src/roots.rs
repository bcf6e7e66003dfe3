//! The two roots a state test checks, rebuilt from Braid's state: the
//! Ethereum MPT state root over the EVM engine's keys, and the logs hash.

use alloy_primitives::{Address, B256, Log, U256, keccak256};
use alloy_trie::root::storage_root_unhashed;
use alloy_trie::{HashBuilder, Nibbles, TrieAccount};
use braid_core::EngineId;
use braid_evm::layout::{self, ACCOUNT_RECORD_KEY, AccountRecord};
use braid_state::StateDb;

/// The Ethereum state root of the EVM accounts in `db`: per account
/// `TrieAccount {nonce, balance, storage_root, code_hash}`, the storage root
/// over its (non-zero, as stored) slots, keyed by `keccak256(address)`.
///
/// # Errors
/// A description of what does not decode (a record, a storage key, or
/// storage without an account record).
pub(crate) fn state_root(db: &StateDb) -> Result<B256, String> {
    let rows = db
        .scan_engine(EngineId::EVM)
        .map_err(|e| format!("scanning the EVM keys: {e}"))?;
    let mut accounts: Vec<(B256, TrieAccount)> = Vec::new();
    let mut current: Option<AccountRows> = None;
    for (key, value) in rows {
        let address = layout::address(&key.identity);
        if current.as_ref().map(|c| c.address) != Some(address) {
            if let Some(done) = current.take() {
                accounts.push(done.into_leaf()?);
            }
            current = Some(AccountRows {
                address,
                record: None,
                slots: Vec::new(),
            });
        }
        let entry = current.as_mut().expect("set above");
        if key.engine_key.as_slice() == ACCOUNT_RECORD_KEY {
            let record = AccountRecord::from_bytes(&value).ok_or_else(|| {
                format!(
                    "account record of {address} does not decode ({} bytes)",
                    value.len()
                )
            })?;
            entry.record = Some(record);
        } else if let Some(slot) = layout::slot_of(&key.engine_key) {
            let v = U256::from_be_slice(&value);
            if !v.is_zero() {
                entry.slots.push((B256::from(slot), v));
            }
        } else {
            return Err(format!(
                "unexpected EVM key {:02x?} of {address}",
                key.engine_key
            ));
        }
    }
    if let Some(done) = current.take() {
        accounts.push(done.into_leaf()?);
    }
    accounts.sort_unstable_by_key(|(hashed, _)| *hashed);
    let mut builder = HashBuilder::default();
    for (hashed, account) in &accounts {
        builder.add_leaf(Nibbles::unpack(hashed), &alloy_rlp::encode(account));
    }
    Ok(builder.root())
}

/// The keys of one account, gathered from the ascending scan.
struct AccountRows {
    address: Address,
    record: Option<AccountRecord>,
    /// `(slot, value)`, unhashed.
    slots: Vec<(B256, U256)>,
}

impl AccountRows {
    /// `(keccak256(address), TrieAccount)`.
    fn into_leaf(self) -> Result<(B256, TrieAccount), String> {
        let address = self.address;
        let record = self
            .record
            .ok_or_else(|| format!("account {address} has storage but no record"))?;
        let storage_root = storage_root_unhashed(self.slots);
        Ok((
            keccak256(address),
            TrieAccount::new(
                record.nonce,
                record.balance(),
                storage_root,
                record.code_hash(),
            ),
        ))
    }
}

/// keccak-256 of the RLP list of `logs` (the state tests' `logs` field).
pub(crate) fn logs_hash(logs: &[Log]) -> B256 {
    let mut out = Vec::with_capacity(alloy_rlp::list_length(logs));
    alloy_rlp::encode_list(logs, &mut out);
    keccak256(&out)
}
