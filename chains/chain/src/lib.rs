//! `braid-chain`: chain specs, genesis, transactions and block application.
//!
//! What it is: the top of Braid's layer graph. It composes the state, the
//! kernel and the engines into a chain that applies blocks of Ethereum-signed
//! and Braid transactions, writing each block in one atomic batch.
//!
//! It stores what a node serves in each block's atomic batch (headers in
//! Ethereum's shape, bodies, receipts, indexes; `rfcs/0012-node.md`), runs
//! read-only calls on throw-away block states ([`Chain::call`]), and hands
//! out a [`ChainReader`] that reads the last committed block from any thread.
//!
//! What it does not do: it runs no bytecode itself and never touches an
//! engine's keys except through the kernel (genesis and sender nonces aside).
//! Tooling lives beside it: the Ethereum state-test runner is
//! `braid-statetest` (`testing/statetest`), the dev chain's keys and block
//! generator `braid-dev` (`chains/dev`).

pub mod block;
pub mod call;
mod chain;
mod error;
pub mod fee;
mod reader;
pub mod receipt;
pub mod spec;
mod store;
pub mod tx;

pub use block::{Block, BlockHeader, RawTransaction};
pub use call::{
    AccountOverride, BraidCallRequest, BraidCallResult, EthCall, EthCallResult, StateOverrides,
};
pub use chain::{BlockReport, Chain};
pub use error::{ChainError, Result, TxError};
pub use reader::{ChainReader, Snapshot, TxLocation};
pub use receipt::{BRAID_TX_TYPE, CallReport, CallStatus, Receipt, TransactionKind};
pub use spec::{ChainSpec, EvmSpec, GenesisAccount, GenesisModule, PluginPin};
