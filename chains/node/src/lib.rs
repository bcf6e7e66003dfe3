//! `braid-node`: `braid node`, a Braid chain as a service.
//!
//! What it is: a transaction pool checked at submission ([`pool`],
//! [`validate`]), one block-producer thread that owns the
//! [`braid_chain::Chain`] and applies blocks through `Chain::apply_block`
//! (automine or interval, [`config::Mining`]), and a JSON-RPC server
//! (jsonrpsee, HTTP and WebSocket on one port, CORS, `GET /health`) with the
//! Ethereum methods as geth answers them and Braid's `braid_*` methods. RPC
//! handlers read the last committed block through a
//! [`braid_chain::ChainReader`] while the next block is applied.
//! `rfcs/0012-node.md` records the methods, formats and decisions.
//!
//! What it is not: a peer-to-peer client (no networking, no sync, no
//! consensus with others), a key store (`eth_accounts` is empty), or an
//! archive of old states (state methods answer for the head).
//!
//! Layers (`rfcs/0008-architecture.md`): it composes `braid-chain` and sits
//! beside the `braid` binary, which runs it.

pub mod config;
mod convert;
mod filters;
pub mod pool;
mod producer;
pub mod rpc;
mod server;
mod shared;
pub mod validate;

pub use config::{Limits, Mining, NodeConfig, Storage};
pub use producer::Committed;
pub use server::{NodeError, NodeHandle, run, start};
