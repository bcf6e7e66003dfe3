//! [`ChainError`]: everything that stops a chain spec, a transaction or a block.

use std::path::PathBuf;

use braid_core::{CoreError, EngineId};
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
        /// The sender, hex.
        sender: String,
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
    #[error("gas limit {gas_limit} exceeds the {left} left in the block")]
    BlockGasExceeded {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// Gas left in the block.
        left: u64,
    },
}

/// `Result` with [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
