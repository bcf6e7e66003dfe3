//! [`ChainError`]: everything that stops a chain spec, a transaction or a block.

use std::path::PathBuf;

use braid_core::{CoreError, EngineId, Identity};
use braid_state::StateError;

/// Why a spec, transaction or block was refused, or could not be processed.
/// A refused block leaves the state unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The chain spec is not valid TOML or does not have the expected shape.
    #[error("chain spec {path}: {message}")]
    SpecSyntax {
        /// The spec file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A chain-spec field has an invalid value.
    #[error("chain spec field `{field}` = {value:?}: {reason}")]
    SpecField {
        /// Dotted path of the field (`genesis.alloc.0x..balance`).
        field: String,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A chain-spec field that has no default is absent.
    #[error("chain spec field `{field}` is missing: {reason}")]
    SpecMissing {
        /// Dotted path of the field (`genesis.timestamp`).
        field: &'static str,
        /// What the field is, and why it has no default.
        reason: &'static str,
    },
    /// A block file is malformed.
    #[error("block file {path}: {message}")]
    BlockSyntax {
        /// The block file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A chain directory's block files do not number blocks 1, 2, 3, ...
    #[error("block file {path} holds block {number}: {reason}")]
    BlockFile {
        /// The block file.
        path: PathBuf,
        /// The number it holds.
        number: u64,
        /// What is wrong (block 0, a number held twice, a gap).
        reason: String,
    },
    /// A block does not follow the head (number or parent hash).
    #[error("block {number} does not extend the head: {reason}")]
    BlockOrder {
        /// The block's number.
        number: u64,
        /// Expected vs got.
        reason: String,
    },
    /// A transaction of a block is invalid; the whole block is refused.
    #[error("block {block}, transaction {index}: {reason}")]
    InvalidTransaction {
        /// Block number.
        block: u64,
        /// Index of the transaction in the block.
        index: usize,
        /// Why.
        #[source]
        reason: TxError,
    },
    /// A read-only call (`eth_call`, `braid_call`) that the chain refuses to
    /// run, for the reason a transaction would be refused.
    #[error("call refused: {reason}")]
    InvalidCall {
        /// Why.
        #[source]
        reason: TxError,
    },
    /// The stored database belongs to another chain.
    #[error("database holds chain {stored}, the spec describes chain {spec}")]
    WrongChain {
        /// What the database holds (chain id and genesis root).
        stored: String,
        /// What the spec describes.
        spec: String,
    },
    /// The store holds no chain (no head block), and the caller asked not
    /// to create one ([`crate::Chain::open_existing`]).
    #[error("the database holds no chain (no head block)")]
    NoChain,
    /// A plugin engine pinned by the spec could not be loaded.
    #[error(transparent)]
    Plugin(#[from] braid_plugin_loader::PluginError),
    /// The kernel or an engine could not process a call.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The state layer failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A fee credit would take an EVM balance past 2^256 − 1.
    #[error("crediting a fee to {account} overflows its balance")]
    BalanceOverflow {
        /// The account credited.
        account: Identity,
    },
    /// A fee debit found less than the upfront check saw (a broken invariant).
    #[error("debiting a fee from {account} underflows its balance")]
    BalanceUnderflow {
        /// The account debited.
        account: Identity,
    },
}

/// Why one transaction is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes do not decode as the claimed transaction kind.
    #[error("cannot decode {kind} transaction 0x{prefix}...: {message}")]
    Decode {
        /// `ethereum` or `braid`.
        kind: &'static str,
        /// First bytes of the input, hex.
        prefix: String,
        /// The decoder's message.
        message: String,
    },
    /// The signature does not verify or recover.
    #[error("bad signature: {message}")]
    BadSignature {
        /// What failed.
        message: String,
    },
    /// The transaction names another chain.
    #[error("chain id {got}, expected {expected}")]
    WrongChainId {
        /// The chain's id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The sender's nonce does not match.
    #[error("nonce {got} for sender {sender}, expected {expected}")]
    WrongNonce {
        /// The sender.
        sender: Identity,
        /// The nonce the state holds.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// A call names an engine the chain does not run.
    #[error("call {call} names unknown engine id {engine}")]
    UnknownEngine {
        /// Index of the call in the transaction.
        call: usize,
        /// The engine id.
        engine: EngineId,
    },
    /// A deploy names an engine that does not take deployments (the EVM deploys by CREATE).
    #[error("call {call} deploys to engine {engine}, which does not take deployments")]
    DeployUnsupported {
        /// Index of the action in the transaction.
        call: usize,
        /// The engine id.
        engine: EngineId,
    },
    /// A Braid transaction with no calls.
    #[error("transaction has no calls")]
    NoCalls,
    /// The EVM refused the transaction (nonce, balance, gas, fees...).
    #[error("EVM refused the transaction: {0}")]
    Evm(#[source] braid_evm::EvmError),
    /// The transaction's gas limit exceeds what is left in the block.
    #[error("gas limit {gas_limit} (Braid gas) exceeds the {left} left in the block")]
    BlockGasExceeded {
        /// The transaction's gas limit, in Braid gas.
        gas_limit: u64,
        /// Braid gas left in the block.
        left: u64,
    },
    /// A Braid transaction's gas limit does not cover its intrinsic gas.
    #[error("gas limit {gas_limit} is below the intrinsic gas {intrinsic} of the transaction")]
    IntrinsicGasAboveLimit {
        /// The transaction's gas limit, in Braid gas.
        gas_limit: u64,
        /// Its intrinsic gas (RFC 0009), in Braid gas.
        intrinsic: u64,
    },
    /// A Braid transaction's max fee is below the block's base fee (EIP-1559).
    #[error("max fee per gas {max_fee_per_gas} wei is below the base fee {base_fee} wei")]
    MaxFeeBelowBaseFee {
        /// The transaction's `max_fee_per_gas`, wei.
        max_fee_per_gas: u128,
        /// The block's base fee, wei.
        base_fee: u128,
    },
    /// The sender cannot pay `gas_limit × max_fee_per_gas` plus the calls' value.
    #[error("sender {sender} has {balance} wei, the transaction may cost up to {required} wei")]
    InsufficientFunds {
        /// The sender.
        sender: Identity,
        /// Its EVM balance, wei.
        balance: alloy_primitives::U256,
        /// `gas_limit × max_fee_per_gas` + the calls' value, wei.
        required: alloy_primitives::U256,
    },
    /// The EIP-2718 type byte (`0x05..=0x7f`) names no transaction type
    /// Braid decodes (legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844, 4 EIP-7702).
    #[error("transaction type {tx_type:#04x} is not supported")]
    UnsupportedType {
        /// The type byte.
        tx_type: u8,
    },
    /// The transaction type is not active in the chain's hard fork
    /// (EIP-2930 from Berlin, EIP-1559 from London, EIP-4844 from Cancun,
    /// EIP-7702 from Prague).
    #[error("transaction type {tx_type} is not active in {spec:?}")]
    TypeNotActive {
        /// The EIP-2718 type.
        tx_type: u8,
        /// The hard fork the EVM runs.
        spec: revm::primitives::hardfork::SpecId,
    },
    /// A blob (type 3, EIP-4844) or set-code (type 4, EIP-7702) transaction
    /// with an empty `to`: these can never create a contract.
    #[error("type {tx_type} transaction has no `to`: it cannot create a contract")]
    ContractCreation {
        /// The EIP-2718 type (3 or 4).
        tx_type: u8,
    },
    /// A legacy transaction without a chain id (pre-EIP-155) where the chain
    /// requires replay protection.
    #[error("transaction has no chain id (pre-EIP-155), the chain requires {expected}")]
    NoChainId {
        /// The chain's id.
        expected: u64,
    },
    /// `max_priority_fee_per_gas` above `max_fee_per_gas` (EIP-1559).
    #[error(
        "max priority fee per gas {max_priority_fee_per_gas} wei exceeds max fee per gas {max_fee_per_gas} wei"
    )]
    PriorityFeeAboveMaxFee {
        /// The tip cap, in wei per gas.
        max_priority_fee_per_gas: u128,
        /// The fee cap, in wei per gas.
        max_fee_per_gas: u128,
    },
    /// A blob transaction with no blob versioned hashes (EIP-4844).
    #[error("blob transaction carries no blob versioned hashes")]
    NoBlobHashes,
    /// A blob versioned hash whose first byte is not the KZG version `0x01` (EIP-4844).
    #[error("blob versioned hash {index} has version {version:#04x}, expected 0x01")]
    BlobHashVersion {
        /// Index of the hash in the transaction.
        index: usize,
        /// Its first byte.
        version: u8,
    },
    /// More blob versioned hashes than one transaction may carry in the fork
    /// (6 Cancun, 9 Prague, 6 Osaka by EIP-7594).
    #[error("blob transaction carries {count} blob versioned hashes, at most {max}")]
    TooManyBlobs {
        /// Hashes the transaction carries.
        count: usize,
        /// The fork's limit.
        max: u64,
    },
    /// A blob transaction in its network form (with blobs, commitments and
    /// proofs): a block carries only the transaction (EIP-4844).
    #[error("blob transaction carries its blob sidecar; a block takes the transaction alone")]
    BlobSidecar,
    /// A set-code transaction with an empty authorization list (EIP-7702).
    #[error("set-code transaction has an empty authorization list")]
    EmptyAuthorizationList,
}

/// `Result` with [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
