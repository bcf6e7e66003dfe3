//! How a node runs: chain, database, address, block production, limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::pool::PoolLimits;

/// When blocks are produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mining {
    /// A block as soon as transactions are ready, holding every ready one
    /// (as anvil's automine; a client sending one transaction at a time
    /// gets one block per transaction, as with hardhat's).
    Automine,
    /// A block every period, empty or not (anvil's `--block-time`).
    Interval(Duration),
}

/// Where the state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// RocksDB in this directory.
    RocksDb(PathBuf),
    /// In memory (lost on exit; tests).
    Memory,
}

/// Request and result limits of the RPC server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, bytes (geth: 5 MiB).
    pub max_request_bytes: u32,
    /// Largest response body, bytes.
    pub max_response_bytes: u32,
    /// Most calls in one batch request (geth: 1,000).
    pub max_batch: u32,
    /// Most open connections.
    pub max_connections: u32,
    /// Most blocks one `eth_getLogs` (or log filter poll) may span.
    pub max_logs_blocks: u64,
    /// Most logs one `eth_getLogs` may return.
    pub max_logs: usize,
    /// Most installed filters.
    pub max_filters: usize,
    /// The transaction pool's limits.
    pub pool: PoolLimits,
}

impl Default for Limits {
    /// 5 MiB requests, 128 MiB responses, batches of 1,000, 500
    /// connections, `eth_getLogs` over at most 10,000 blocks and 20,000
    /// logs, 1,024 filters, the pool's defaults.
    fn default() -> Self {
        Limits {
            max_request_bytes: 5 << 20,
            max_response_bytes: 128 << 20,
            max_batch: 1000,
            max_connections: 500,
            max_logs_blocks: 10_000,
            max_logs: 20_000,
            max_filters: 1024,
            pool: PoolLimits::default(),
        }
    }
}

/// Everything `braid node` is started with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Chain directory (`chain.toml`, optional `blocks/`).
    pub chain_dir: PathBuf,
    /// Where the state lives.
    pub storage: Storage,
    /// HTTP and WebSocket address (one port for both).
    pub http: SocketAddr,
    /// Block production.
    pub mining: Mining,
    /// Limits.
    pub limits: Limits,
    /// Apply the chain directory's bundled blocks above the head at start
    /// (as `braid run` does) before serving.
    pub apply_bundled: bool,
}

impl NodeConfig {
    /// The defaults for `chain_dir`: RocksDB at `<chain_dir>/.braid-db`,
    /// `127.0.0.1:8545`, automine, default limits, bundled blocks applied.
    pub fn new(chain_dir: PathBuf) -> Self {
        NodeConfig {
            storage: Storage::RocksDb(chain_dir.join(".braid-db")),
            chain_dir,
            http: SocketAddr::from(([127, 0, 0, 1], 8545)),
            mining: Mining::Automine,
            limits: Limits::default(),
            apply_bundled: true,
        }
    }
}
