//! [`HostDatabase`]: revm's [`Database`] and [`DatabaseCommit`] over a Braid [`Host`].

use braid_core::{CoreError, Host, namespace};
use revm::bytecode::Bytecode;
use revm::database_interface::DBErrorMarker;
use revm::primitives::{Address, AddressMap, B256, KECCAK_EMPTY, StorageKey, StorageValue};
use revm::state::{Account, AccountInfo};
use revm::{Database, DatabaseCommit};
use rustc_hash::FxHashMap;

use crate::EvmError;
use crate::cache::BytecodeCache;
use crate::layout::{ACCOUNT_RECORD_KEY, AccountRecord, identity, storage_key};

/// A [`CoreError`] as revm's database error (revm needs its own marker trait on it).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HostDatabaseError(pub CoreError);

impl DBErrorMarker for HostDatabaseError {}

impl From<CoreError> for HostDatabaseError {
    fn from(error: CoreError) -> Self {
        HostDatabaseError(error)
    }
}

impl From<EvmError> for HostDatabaseError {
    fn from(error: EvmError) -> Self {
        HostDatabaseError(error.into())
    }
}

/// revm's view of the EVM engine's keys through the kernel's [`Host`]
/// (layout in [`crate::layout`]).
///
/// Reads see every working set in flight. [`HostDatabase::apply`] (and the
/// [`DatabaseCommit`] impl on top of it) writes a transaction's state changes
/// with the semantics of revm's `State`, not `CacheDB`:
///
/// - accounts not marked touched are skipped (they were only read);
/// - a self-destructed account is deleted with all its storage;
/// - a (re-)created account's old storage is wiped before its slots are written;
/// - a touched account that is empty (nonce 0, balance 0, no code) is deleted
///   (EIP-161; revm's journal already keeps empty accounts alive before
///   Spurious Dragon by clearing the touch or marking them created);
/// - otherwise the record is written if it changed, changed slots are written
///   (a zero value deletes the key), and new code is stored by hash.
///
/// An absent record means "no account", and an account without a record has
/// no storage, so deleting or re-creating an account that had no record skips
/// the storage wipe (a prefix scan).
pub struct HostDatabase<'h> {
    host: &'h mut dyn Host,
    code: &'h BytecodeCache,
    loaded: LoadedRecords,
    error: Option<CoreError>,
}

/// Records as read (or last written) during one transaction: `None` for "no account".
pub(crate) type LoadedRecords = FxHashMap<Address, Option<AccountRecord>>;

impl<'h> HostDatabase<'h> {
    /// A database over `host`, sharing analysed bytecode through `code`.
    pub fn new(host: &'h mut dyn Host, code: &'h BytecodeCache) -> Self {
        Self::with_loaded(host, code, LoadedRecords::default())
    }

    /// [`HostDatabase::new`] reusing the allocation of `loaded` (cleared here).
    pub(crate) fn with_loaded(
        host: &'h mut dyn Host,
        code: &'h BytecodeCache,
        mut loaded: LoadedRecords,
    ) -> Self {
        loaded.clear();
        HostDatabase {
            host,
            code,
            loaded,
            error: None,
        }
    }

    /// Ends the database: its records map, for reuse, and the error a
    /// [`DatabaseCommit::commit`] hit, if any.
    pub(crate) fn finish(self) -> (LoadedRecords, Result<(), CoreError>) {
        (self.loaded, self.error.map_or(Ok(()), Err))
    }

    /// The host underneath.
    pub fn host(&mut self) -> &mut dyn Host {
        &mut *self.host
    }

    /// The first error a [`DatabaseCommit::commit`] hit, if any (the trait's
    /// `commit` cannot return one). Clears it.
    ///
    /// # Errors
    /// The stored error.
    pub fn take_error(&mut self) -> Result<(), CoreError> {
        self.error.take().map_or(Ok(()), Err)
    }

    /// Reads and decodes the record of `address` (absent: `None`), remembering it.
    fn record(&mut self, address: Address) -> Result<Option<AccountRecord>, CoreError> {
        if let Some(record) = self.loaded.get(&address) {
            return Ok(*record);
        }
        // `Err(len)`: a stored value that is not a record.
        let mut read = Ok(None);
        self.host
            .get_with(&identity(address), &ACCOUNT_RECORD_KEY, &mut |value| {
                read = value.map_or(Ok(None), |bytes| {
                    AccountRecord::from_bytes(bytes)
                        .map(Some)
                        .ok_or(bytes.len())
                });
            })?;
        let record = read.map_err(|len| EvmError::CorruptAccount { address, len })?;
        self.loaded.insert(address, record);
        Ok(record)
    }

    /// Notes what the record of `address` now is. Through the entry API, so
    /// overwriting a known address never grows the map.
    fn remember(&mut self, address: Address, record: Option<AccountRecord>) {
        *self.loaded.entry(address).or_insert(None) = record;
    }

    /// Writes revm's state changes for one transaction (see the type docs).
    ///
    /// # Errors
    /// Host failures (state I/O, an oversized value).
    pub fn apply<'a>(
        &mut self,
        changes: impl IntoIterator<Item = (&'a Address, &'a Account)>,
    ) -> Result<(), CoreError> {
        for (address, account) in changes {
            self.apply_account(*address, account)?;
        }
        Ok(())
    }

    fn apply_account(&mut self, address: Address, account: &Account) -> Result<(), CoreError> {
        if !account.is_touched() {
            return Ok(());
        }
        let id = identity(address);
        // `None`: never read in this transaction, so it may have storage.
        let had_record = self.loaded.get(&address).map(Option::is_some);
        if account.is_selfdestructed() || (account.is_empty() && !account.is_created()) {
            if had_record != Some(false) {
                self.host.delete(&id, &ACCOUNT_RECORD_KEY)?;
                self.host.delete_prefix(&id, &[namespace::STORAGE])?;
                self.remember(address, None);
            }
            return Ok(());
        }
        let created = account.is_created();
        if created && had_record != Some(false) {
            self.host.delete_prefix(&id, &[namespace::STORAGE])?;
        }

        let info = &account.info;
        let record = AccountRecord::new(info.nonce, info.balance, info.code_hash);
        let previous = self.loaded.get(&address).copied().flatten();
        if previous != Some(record) {
            self.host
                .set(&id, &ACCOUNT_RECORD_KEY, &record.to_bytes())?;
            self.remember(address, Some(record));
        }
        if info.code_hash != KECCAK_EMPTY
            && previous.map(|p| p.code_hash) != Some(info.code_hash.0)
            && let Some(code) = &info.code
        {
            let stored = self.host.store_code(code.original_byte_slice())?;
            if stored != info.code_hash.0 {
                return Err(CoreError::Invariant {
                    what: "revm code hash differs from keccak-256 of the code",
                });
            }
            self.code.insert(info.code_hash, code.clone());
        }

        for (slot, value) in &account.storage {
            let present = value.present_value;
            // After a wipe every non-zero slot is new; otherwise only changed ones are written.
            let write = if created {
                !present.is_zero()
            } else {
                value.is_changed()
            };
            if !write {
                continue;
            }
            let key = storage_key(&slot.to_be_bytes::<32>());
            if present.is_zero() {
                self.host.delete(&id, &key)?;
            } else {
                self.host.set(&id, &key, &present.to_be_bytes::<32>())?;
            }
        }
        Ok(())
    }
}

impl Database for HostDatabase<'_> {
    type Error = HostDatabaseError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(record) = self.record(address)? else {
            return Ok(None);
        };
        let code_hash = record.code_hash();
        let code = if code_hash == KECCAK_EMPTY {
            Some(Bytecode::default())
        } else {
            self.code.get(&code_hash)
        };
        let mut info = AccountInfo::new(
            record.balance(),
            record.nonce,
            code_hash,
            Bytecode::default(),
        );
        info.code = code;
        Ok(Some(info))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = self.code.get(&code_hash) {
            return Ok(code);
        }
        let raw = self
            .host
            .code(&code_hash.0)?
            .ok_or(EvmError::MissingCode { code_hash })?;
        let code = BytecodeCache::analyse(&raw);
        self.code.insert(code_hash, code.clone());
        Ok(code)
    }

    fn storage(
        &mut self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        let key = storage_key(&index.to_be_bytes::<32>());
        let mut value = StorageValue::ZERO;
        self.host
            .get_with(&identity(address), &key, &mut |stored| {
                if let Some(bytes) = stored {
                    value = StorageValue::from_be_slice(bytes);
                }
            })?;
        Ok(value)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        // Unknown (the current block or later, or outside the window): zero,
        // as on Ethereum. A block the chain must know but cannot read is an
        // error that stops the block.
        Ok(self.host.block_hash(number)?.map_or(B256::ZERO, B256::from))
    }
}

impl DatabaseCommit for HostDatabase<'_> {
    /// Applies the changes with [`HostDatabase::apply`]; the first error is
    /// kept for [`HostDatabase::take_error`] and later changes are skipped.
    fn commit(&mut self, changes: AddressMap<Account>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.apply(&changes) {
            self.error = Some(e);
        }
    }
}
