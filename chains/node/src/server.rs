//! Starting and stopping a node: open the chain, start the producer thread
//! and the JSON-RPC server, stop both gracefully.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use braid_chain::{Block, Chain, ChainError, ChainSpec};
use braid_state::{Backend, MemoryBackend, RocksDbBackend};
use jsonrpsee::MethodResponse;
use jsonrpsee::server::middleware::http::ProxyGetRequestLayer;
use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, BatchEntryErr, Notification, Request, RpcServiceBuilder, RpcServiceT,
};
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use tower_http::cors::{Any, CorsLayer};
use tracing::Instrument;

use crate::config::{NodeConfig, Storage};
use crate::producer;
use crate::rpc::{ApiServer, Rpc};
use crate::shared::Shared;

/// Why a node could not start, or stopped on a failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The chain could not be opened or a bundled block applied.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The state could not be opened.
    #[error(transparent)]
    State(#[from] braid_state::StateError),
    /// The RPC address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The tokio runtime or a thread could not be started.
    #[error("cannot start the {what}: {source}")]
    Runtime {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Block production failed (a state or engine failure); the node stopped.
    #[error("block production failed: {message}")]
    Producer {
        /// The failure.
        message: String,
    },
    /// The server's `/health` route could not be set up.
    #[error("cannot route GET {path}: {message}")]
    Route {
        /// The path.
        path: &'static str,
        /// Why.
        message: String,
    },
}

/// Subscription ids as geth gives them: `"0x"` and 32 hex digits (16
/// unpredictable bytes). jsonrpsee's default is a JSON number, which viem's
/// WebSocket transport does not match against its notifications.
#[derive(Debug)]
struct HexIdProvider {
    seed: std::hash::RandomState,
    next: std::sync::atomic::AtomicU64,
}

impl Default for HexIdProvider {
    fn default() -> Self {
        Self {
            seed: std::hash::RandomState::new(),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl jsonrpsee::server::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        use std::hash::BuildHasher;
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let high = self.seed.hash_one((n, 0u8));
        let low = self.seed.hash_one((n, 1u8));
        jsonrpsee::types::SubscriptionId::Str(format!("0x{high:016x}{low:016x}").into())
    }
}

/// A running node; [`NodeHandle::stop`] stops it gracefully.
pub struct NodeHandle {
    addr: SocketAddr,
    server: ServerHandle,
    producer: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl NodeHandle {
    /// Where the server listens (HTTP and WebSocket).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolves when block production fails (the node should then stop).
    pub async fn failed(&self) -> String {
        loop {
            let notified = self.shared.fatal_notify.notified();
            if let Some(message) = self.shared.fatal() {
                return message;
            }
            notified.await;
        }
    }

    /// Stops the server (no new requests), lets the producer finish the
    /// block in progress, and waits for both. The database closes when the
    /// last handle on the chain drops.
    ///
    /// # Errors
    /// [`NodeError::Producer`] if block production had failed.
    pub async fn stop(mut self) -> Result<(), NodeError> {
        let _ = self.server.stop();
        self.server.clone().stopped().await;
        self.shared.stop_producer();
        if let Some(producer) = self.producer.take() {
            let joined = tokio::task::spawn_blocking(move || producer.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                return Err(NodeError::Producer {
                    message: "the producer thread panicked".into(),
                });
            }
        }
        match self.shared.fatal() {
            Some(message) => Err(NodeError::Producer { message }),
            None => Ok(()),
        }
    }
}

/// Opens the chain, applies the bundled blocks above the head (when
/// configured; only if the blocks at or below the head are the bundled
/// ones), starts the producer and the server.
///
/// # Errors
/// [`NodeError`].
pub async fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
    let spec = ChainSpec::load(&config.chain_dir.join("chain.toml"))?;
    let backend: Arc<dyn Backend> = match &config.storage {
        Storage::Memory => Arc::new(MemoryBackend::new()),
        Storage::RocksDb(path) => Arc::new(RocksDbBackend::open(path)?),
    };
    let mut chain = Chain::open(spec, backend)?;
    if config.apply_bundled {
        apply_bundled(&mut chain, &config.chain_dir.join("blocks"))?;
    }
    tracing::info!(
        chain = %chain.spec().name,
        chain_id = chain.spec().chain_id,
        head = chain.head().number,
        root = %hex::encode(chain.head().state_root),
        "chain opened"
    );
    let (signals, receiver) = std::sync::mpsc::channel();
    let shared = Arc::new(Shared::new(chain.reader(), signals, config.limits));
    let producer = {
        let shared = shared.clone();
        let mining = config.mining;
        std::thread::Builder::new()
            .name("braid-producer".into())
            .spawn(move || producer::run(chain, shared, receiver, mining))
            .map_err(|source| NodeError::Runtime {
                what: "block producer thread",
                source,
            })?
    };
    let module = Rpc {
        shared: shared.clone(),
    }
    .into_rpc();
    let methods: Arc<HashSet<&'static str>> = Arc::new(module.method_names().collect());
    let limits = config.limits;
    let server_config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .set_id_provider(HexIdProvider::default())
        .build();
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([http::Method::POST, http::Method::GET, http::Method::OPTIONS])
        .allow_headers([http::header::CONTENT_TYPE]);
    let health = ProxyGetRequestLayer::new([("/health", "system_health")]).map_err(|e| {
        NodeError::Route {
            path: "/health",
            message: e.to_string(),
        }
    })?;
    let http_middleware = tower::ServiceBuilder::new().layer(cors).layer(health);
    let rpc_middleware = RpcServiceBuilder::new().layer_fn(move |service| Observe {
        service,
        methods: methods.clone(),
    });
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(http_middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(config.http)
        .await
        .map_err(|source| NodeError::Bind {
            addr: config.http,
            source,
        })?;
    let addr = server.local_addr().map_err(|source| NodeError::Bind {
        addr: config.http,
        source,
    })?;
    let handle = server.start(module);
    tracing::info!(%addr, mining = ?config.mining, "JSON-RPC listening (HTTP and WebSocket)");
    Ok(NodeHandle {
        addr,
        server: handle,
        producer: Some(producer),
        shared,
    })
}

fn apply_bundled(chain: &mut Chain, dir: &std::path::Path) -> Result<(), NodeError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let blocks: Vec<(PathBuf, Block)> = Block::load_dir(dir)?;
    let head = chain.head().number;
    let reader = chain.reader();
    {
        let snapshot = reader.snapshot()?;
        for (path, block) in blocks.iter().filter(|(_, b)| b.number <= head) {
            if snapshot.body(block.number)?.as_ref() != Some(&block.transactions) {
                tracing::warn!(
                    file = %path.display(),
                    number = block.number,
                    "the database's block differs from the bundled one: bundled blocks are not applied"
                );
                return Ok(());
            }
        }
    }
    for (_, block) in blocks.iter().filter(|(_, b)| b.number > head) {
        let report = chain.apply_block(block)?;
        tracing::info!(
            number = report.header.number,
            transactions = report.receipts.len(),
            "bundled block applied"
        );
    }
    Ok(())
}

/// Runs a node until SIGINT or SIGTERM (or a failure of block production),
/// then stops it gracefully. Prints where it listens.
///
/// # Errors
/// [`NodeError`].
pub fn run(config: NodeConfig) -> Result<(), NodeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| NodeError::Runtime {
            what: "tokio runtime",
            source,
        })?;
    runtime.block_on(async move {
        let handle = start(config).await?;
        let addr = handle.local_addr();
        println!("braid node listening on http://{addr} and ws://{addr}");
        let terminate = async {
            #[cfg(unix)]
            {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for SIGTERM");
                        std::future::pending::<()>().await;
                    }
                }
            }
            #[cfg(not(unix))]
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            _ = terminate => tracing::info!("SIGTERM: stopping"),
            message = handle.failed() => tracing::error!(%message, "block production failed: stopping"),
        }
        let result = handle.stop().await;
        println!("braid node stopped");
        result
    })
}

/// The RPC middleware: a tracing span per request (method and id, with its
/// duration), and geth's answer to an unknown method, naming it.
#[derive(Clone)]
struct Observe<S> {
    service: S,
    methods: Arc<HashSet<&'static str>>,
}

fn unknown_method(name: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        jsonrpsee::types::error::METHOD_NOT_FOUND_CODE,
        format!("the method {name} does not exist/is not available"),
        None::<()>,
    )
}

/// jsonrpsee answers a parameter that does not deserialise with "Invalid
/// params" and the decoder's message as data; geth names the argument. The
/// answer keeps its code (-32602) and carries the parameters it refused.
fn name_invalid_params(
    response: MethodResponse,
    id: jsonrpsee::types::Id<'static>,
    params: &str,
) -> MethodResponse {
    if response.as_error_code() != Some(jsonrpsee::types::error::INVALID_PARAMS_CODE) {
        return response;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(response.as_json().get()) else {
        return response;
    };
    let error = &json["error"];
    if error["message"] != "Invalid params" {
        return response;
    }
    let reason = error["data"].as_str().unwrap_or("wrong type").to_string();
    let shown: String = params.chars().take(200).collect();
    MethodResponse::error(
        id,
        ErrorObjectOwned::owned(
            jsonrpsee::types::error::INVALID_PARAMS_CODE,
            format!("invalid argument in params {shown}: {reason}"),
            Some(reason),
        ),
    )
}

impl<S> RpcServiceT for Observe<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let service = self.service.clone();
        let known = self.methods.contains(request.method_name());
        let span = tracing::info_span!("rpc", method = %request.method_name(), id = %request.id());
        async move {
            if !known {
                return MethodResponse::error(request.id(), unknown_method(request.method_name()));
            }
            let id = request.id().into_owned();
            let params = request.params().as_str().unwrap_or("[]").to_string();
            let started = Instant::now();
            let response = service.call(request).await;
            let response = name_invalid_params(response, id, &params);
            tracing::debug!(
                micros = started.elapsed().as_micros() as u64,
                success = response.is_success(),
                "request served"
            );
            response
        }
        .instrument(span)
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        for entry in batch.iter_mut() {
            let unknown = match entry {
                Ok(BatchEntry::Call(request)) if !self.methods.contains(request.method_name()) => {
                    Some((request.id(), unknown_method(request.method_name())))
                }
                _ => None,
            };
            if let Some((id, err)) = unknown {
                *entry = Err(BatchEntryErr::new(id, err));
            }
        }
        let span = tracing::info_span!("rpc_batch", calls = batch.len());
        self.service.batch(batch).instrument(span)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.service.notification(notification)
    }
}
