//! `braid-evm`: the Ethereum virtual machine (revm 43) as a Braid engine.
//!
//! What it is: [`EvmEngine`], which implements [`braid_core::Engine`] for
//! engine id `0x01` with the whole engine prefix as its mutator scope, and
//! runs both Braid calls ([`braid_core::Engine::call`]) and
//! Ethereum-signed transactions ([`EvmEngine::transact`],
//! [`EvmEngine::invoke_transaction`]); [`HostDatabase`], revm's
//! `Database` + `DatabaseCommit` over a [`braid_core::Host`], committing with
//! the semantics of revm's `State` (EIP-161 removal of touched empty
//! accounts, storage wiped on self-destruct and on re-creation); the state
//! [`layout`] of EVM accounts; and a [`BytecodeCache`] of analysed code by
//! hash shared across transactions.
//!
//! # State layout (RFC 0006)
//! Engine `0x01`, identity = the 20-byte address. Engine key `0x00` holds the
//! 72-byte [`layout::AccountRecord`] `nonce (u64 little-endian) ‖ balance
//! (32 bytes big-endian) ‖ code_hash` (its SCALE encoding); `0x01 ‖ slot` (32 bytes big-endian)
//! holds a 32-byte big-endian value, and a zero value deletes the key. Code
//! lives once per keccak-256 hash under the system engine. No record means
//! no account.
//!
//! # Transactions
//! [`EvmEngine::transact`] gives a transaction full Ethereum semantics
//! (nonce, fees to the coinbase, base fee burn, blobs, EIP-7702). An invalid
//! transaction is an [`EvmError`] naming the offending values, with nothing
//! written. A valid one, succeeded or not, returns an [`EvmTransactOutcome`]
//! and must be committed: revm's journal has already rolled a reverted
//! transaction back to its nonce and fee.
//!
//! # Braid calls
//! [`braid_core::Engine::call`] runs a message call with gas limit
//! [`braid_core::Host::gas_left`], no gas price or fee and no nonce check;
//! success halts, `REVERT` reverts, exceptional halts fault
//! ([`FaultReason::OutOfGas`](braid_core::FaultReason::OutOfGas) or an
//! EVM [`FaultCode`](braid_core::FaultCode)).
//!
//! # Braid read precompile (RFC 0006)
//! Every EVM runs with [`BraidPrecompiles`]: the Ethereum precompiles of the
//! spec, unchanged, and at [`READ_PRECOMPILE`] (`0x…0B4A1D`) the cross-engine
//! read of [`braid_precompiles::read`], with which EVM contracts read PVM,
//! WASM (or EVM) storage: `readU64(bytes32 module, uint64 slot) returns
//! (uint64)` (a PVM module) and `read(uint8 engine, address identity, bytes
//! key) returns (bool found, bytes value)`. It reads committed state through
//! [`braid_core::Host::read_state`] (kernel rule 5: never an in-flight working
//! set, not even the calling invocation's own writes) and costs 2,100 gas,
//! plus 3 per 32-byte word of the value for `read`. It is warm like the other
//! precompiles (EIP-2929). A bad input or too little gas fails the call like
//! any precompile failure (all its gas consumed, the caller goes on); a host
//! failure stops the transaction with the host's [`braid_core::CoreError`],
//! through revm's database-error path.
//!
//! What it does not do: it never sees `braid-state` (only the `Host`), signs
//! or recovers no transaction (the chain does), keeps no state between
//! calls other than analysed bytecode (it does reuse revm's emptied buffers,
//! per thread), and runs no system calls (EIP-4788
//! beacon root, EIP-2935 block hashes, EIP-7002/7251 requests): a chain that
//! needs them makes them. Its place in the graph: `core` <- `precompiles` <-
//! `evm` <- `chains`.

pub mod cache;
mod db;
mod engine;
mod error;
pub mod layout;
mod precompiles;
mod scratch;

pub use cache::BytecodeCache;
pub use db::{HostDatabase, HostDatabaseError};
pub use engine::{EvmEngine, EvmExit, EvmTransactOutcome, halt_fault};
pub use error::EvmError;
pub use precompiles::{BraidPrecompiles, READ_PRECOMPILE};
/// The revm this engine is built on (pinned `=43.0.3`), for its types
/// ([`revm::context::TxEnv`], [`revm::primitives::hardfork::SpecId`], ...).
pub use revm;
