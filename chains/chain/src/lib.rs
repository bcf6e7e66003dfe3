//! `braid-chain`: chain specs, genesis, transactions and block application.
//!
//! What it is: the top of Braid's layer graph. It composes the state, the
//! kernel and the engines into a chain that applies blocks of Ethereum-signed
//! and Braid transactions, writing each block in one atomic batch.
//!
//! What it does not do: it runs no bytecode itself and never touches an
//! engine's keys except through the kernel (genesis and sender nonces aside).
//! Tooling lives beside it: the Ethereum state-test runner is
//! `braid-statetest` (`testing/statetest`), the dev chain's keys and block
//! generator `braid-dev` (`chains/dev`).

pub mod block;
mod chain;
mod error;
pub mod fee;
pub mod spec;
pub mod tx;

pub use block::{Block, BlockHeader, RawTransaction};
pub use chain::{BlockReport, Chain, Receipt, TransactionKind};
pub use error::{ChainError, Result, TxError};
pub use spec::{ChainSpec, EvmSpec, GenesisAccount, GenesisModule, PluginPin};
