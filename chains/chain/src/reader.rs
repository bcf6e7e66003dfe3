//! [`ChainReader`]: the committed chain, read from any thread while the
//! [`crate::Chain`] applies the next block (a node's RPC handlers).
//!
//! A reader pins one committed block per [`ChainReader::snapshot`] (a
//! `braid_state::ViewGuard`): the head record, headers, bodies, receipts,
//! state values and proofs read through one [`Snapshot`] are all of that
//! block. Calls ([`Snapshot::eth_call`], [`Snapshot::braid_call`]) run on a
//! throw-away block state over it.

use std::sync::Arc;

use alloy_primitives::{Address, U256};
use braid_core::{EngineId, Engines, Identity, StateKey};
use braid_evm::EvmEngine;
use braid_evm::layout::{ACCOUNT_RECORD_KEY, AccountRecord, storage_key};
use braid_state::{Proof, StateView, ViewGuard};
use parity_scale_codec::Decode;
use revm::primitives::KECCAK_EMPTY;

use crate::block::{BlockHeader, RawTransaction};
use crate::call::{
    BraidCallRequest, BraidCallResult, EthCall, EthCallResult, Exec, StateOverrides,
};
use crate::receipt::{Receipt, decode_receipts};
use crate::spec::ChainSpec;
use crate::store::{
    HEAD_KEY, block_hash_key, body_key, corrupt, decode_header, decode_u64, header_key,
    receipts_key, tx_key,
};
use crate::{Result, tx};

/// A thread-safe handle on a chain's committed blocks and state; made by
/// [`crate::Chain::reader`], cheap to clone.
#[derive(Clone)]
pub struct ChainReader {
    pub(crate) spec: Arc<ChainSpec>,
    pub(crate) engines: Engines,
    pub(crate) evm: Arc<EvmEngine>,
    pub(crate) view: StateView,
}

impl std::fmt::Debug for ChainReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainReader")
            .field("chain", &self.spec.name)
            .finish_non_exhaustive()
    }
}

impl ChainReader {
    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The Ethereum validity rules of the chain, replay protection required
    /// (RFC 0007): what a block checks every Ethereum transaction against.
    pub fn ethereum_rules(&self) -> tx::EthereumRules {
        tx::EthereumRules {
            require_chain_id: true,
            ..tx::EthereumRules::new(&self.evm, self.spec.chain_id)
        }
    }

    /// The checks of a Braid transaction `encoded_len` bytes long that need
    /// no state, as a block makes them: signature, chain id, calls, engines,
    /// intrinsic gas, fee caps (RFC 0009). Returns the sender.
    ///
    /// # Errors
    /// The first rule broken, as a block would refuse it.
    pub fn check_braid(
        &self,
        signed: &tx::SignedBraidTransaction,
        encoded_len: usize,
    ) -> Result<Identity, crate::TxError> {
        let sender = crate::chain::braid_static_checks(&self.spec, &self.engines, signed)?;
        crate::chain::braid_fee_checks(&self.spec, signed, encoded_len)?;
        Ok(sender)
    }

    /// Pins the last committed block (hold it for one request: the next
    /// block's commit waits for it).
    ///
    /// # Errors
    /// State failures; a head record that does not decode.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        let guard = self.view.read()?;
        let head = match guard.meta(HEAD_KEY)? {
            Some(bytes) => decode_header(&bytes)?,
            None => return Err(corrupt("head", "no head record: the chain has no genesis")),
        };
        Ok(Snapshot {
            reader: self,
            guard,
            head,
        })
    }
}

/// One committed block of a chain, pinned (see [`ChainReader::snapshot`]).
pub struct Snapshot<'a> {
    reader: &'a ChainReader,
    guard: ViewGuard<'a>,
    head: BlockHeader,
}

/// Where a transaction is: its block and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block number.
    pub block: u64,
    /// Index in the block.
    pub index: u32,
}

impl Snapshot<'_> {
    /// The pinned head.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// The state root of the pinned head.
    pub fn root(&self) -> [u8; 32] {
        self.guard.root()
    }

    /// The header of block `number` (`None` above the head).
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn header(&self, number: u64) -> Result<Option<BlockHeader>> {
        if number > self.head.number {
            return Ok(None);
        }
        self.guard
            .meta(&header_key(number))?
            .map(|b| decode_header(&b))
            .transpose()
    }

    /// The number of the block whose hash is `hash`.
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn block_number(&self, hash: &[u8; 32]) -> Result<Option<u64>> {
        match self.guard.meta(&block_hash_key(hash))? {
            Some(bytes) => Ok(
                Some(decode_u64("block hash index", &bytes)?).filter(|n| *n <= self.head.number)
            ),
            None => Ok(None),
        }
    }

    /// The transactions of block `number`, as signed.
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn body(&self, number: u64) -> Result<Option<Vec<RawTransaction>>> {
        if number > self.head.number {
            return Ok(None);
        }
        match self.guard.meta(&body_key(number))? {
            Some(bytes) => Ok(Some(
                Vec::<RawTransaction>::decode(&mut &bytes[..])
                    .map_err(|e| corrupt("block body", e))?,
            )),
            None => Ok(None),
        }
    }

    /// The receipts of block `number`.
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>> {
        if number > self.head.number {
            return Ok(None);
        }
        match self.guard.meta(&receipts_key(number))? {
            Some(bytes) => Ok(Some(
                decode_receipts(&bytes).map_err(|e| corrupt("block receipts", e))?,
            )),
            None => Ok(None),
        }
    }

    /// Where the transaction `hash` was included.
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn transaction(&self, hash: &[u8; 32]) -> Result<Option<TxLocation>> {
        match self.guard.meta(&tx_key(hash))? {
            Some(bytes) => {
                let (block, index) = <(u64, u32)>::decode(&mut &bytes[..])
                    .map_err(|e| corrupt("transaction index", e))?;
                Ok(Some(TxLocation { block, index }).filter(|l| l.block <= self.head.number))
            }
            None => Ok(None),
        }
    }

    /// A committed value of the state.
    ///
    /// # Errors
    /// State failures.
    pub fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>> {
        Ok(self.guard.get(key)?)
    }

    /// A committed value with its inclusion or exclusion proof against
    /// [`Snapshot::root`].
    ///
    /// # Errors
    /// State failures.
    pub fn prove(&self, key: &StateKey) -> Result<(Option<Vec<u8>>, Proof)> {
        Ok((self.guard.get(key)?, self.guard.prove(key)?))
    }

    /// The EVM account record of `address` (`None`: no account).
    ///
    /// # Errors
    /// State failures; a record that does not decode.
    pub fn account(&self, address: Address) -> Result<Option<AccountRecord>> {
        let key = StateKey::new(
            EngineId::EVM,
            Identity(address.0.0),
            ACCOUNT_RECORD_KEY.to_vec(),
        );
        match self.guard.get(&key)? {
            Some(bytes) => Ok(Some(AccountRecord::from_bytes(&bytes).ok_or_else(
                || {
                    corrupt(
                        "EVM account record",
                        format!("{} bytes at {address}", bytes.len()),
                    )
                },
            )?)),
            None => Ok(None),
        }
    }

    /// The EVM balance of `address`, wei.
    ///
    /// # Errors
    /// As [`Snapshot::account`].
    pub fn balance(&self, address: Address) -> Result<U256> {
        Ok(self.account(address)?.map_or(U256::ZERO, |a| a.balance()))
    }

    /// The EVM nonce of `address`.
    ///
    /// # Errors
    /// As [`Snapshot::account`].
    pub fn nonce(&self, address: Address) -> Result<u64> {
        Ok(self.account(address)?.map_or(0, |a| a.nonce))
    }

    /// The runtime code of `address` (empty without code).
    ///
    /// # Errors
    /// As [`Snapshot::account`]; [`crate::ChainError::State`] if the code
    /// its record names is missing.
    pub fn code(&self, address: Address) -> Result<Vec<u8>> {
        let Some(record) = self.account(address)? else {
            return Ok(Vec::new());
        };
        if record.code_hash() == KECCAK_EMPTY || record.code_hash == [0; 32] {
            return Ok(Vec::new());
        }
        self.guard
            .get(&StateKey::code(&record.code_hash))?
            .ok_or_else(|| corrupt("EVM code", format!("code of {address} is missing")))
    }

    /// The EVM storage slot `slot` of `address`, 32 bytes big-endian.
    ///
    /// # Errors
    /// State failures.
    pub fn storage(&self, address: Address, slot: [u8; 32]) -> Result<[u8; 32]> {
        let key = StateKey::new(
            EngineId::EVM,
            Identity(address.0.0),
            storage_key(&slot).to_vec(),
        );
        Ok(match self.guard.get(&key)? {
            Some(v) => v
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("EVM storage value", format!("{} bytes", v.len())))?,
            None => [0; 32],
        })
    }

    /// The Braid nonce of `sender` (its next Braid transaction's nonce).
    ///
    /// # Errors
    /// State failures; a nonce that is not 8 bytes.
    pub fn braid_nonce(&self, sender: &Identity) -> Result<u64> {
        match self.guard.get(&tx::nonce_key(sender))? {
            Some(bytes) => decode_u64("braid nonce", &bytes),
            None => Ok(0),
        }
    }

    fn exec(&self) -> Exec<'_> {
        Exec {
            db: self.guard.db(),
            engines: &self.reader.engines,
            evm: &self.reader.evm,
            spec: &self.reader.spec,
            head: &self.head,
        }
    }

    /// Runs an Ethereum call on a throw-away copy of the pinned state with
    /// `overrides` (`eth_call`; rules in [`braid_evm::EvmEngine::simulate`]).
    ///
    /// # Errors
    /// [`crate::ChainError::InvalidCall`] if the EVM refuses it (funds,
    /// intrinsic gas...); state and core failures.
    pub fn eth_call(&self, call: &EthCall, overrides: &StateOverrides) -> Result<EthCallResult> {
        self.exec().eth_call(call, overrides)
    }

    /// Runs a call to any engine's instance on a throw-away copy of the
    /// pinned state (`braid_call`).
    ///
    /// # Errors
    /// [`crate::ChainError::InvalidCall`] for an unknown engine; state and
    /// core failures.
    pub fn braid_call(&self, request: &BraidCallRequest) -> Result<BraidCallResult> {
        self.exec().braid_call(request)
    }
}
