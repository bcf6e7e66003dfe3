//! Shared by the node's tests: a node on the dev chain, clients, signing.

#![allow(dead_code, reason = "each test file uses a part")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, TxKind, U256};
use braid_chain::{ChainSpec, RawTransaction};
use braid_node::{Mining, NodeConfig, NodeHandle, Storage};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde_json::Value;

pub fn dev_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dev")
}

pub fn spec() -> ChainSpec {
    ChainSpec::load(&dev_dir().join("chain.toml")).unwrap()
}

/// A node on the dev chain (its five bundled blocks applied) on a free port.
pub async fn start(storage: Storage, configure: impl FnOnce(&mut NodeConfig)) -> NodeHandle {
    let mut config = NodeConfig::new(dev_dir());
    config.storage = storage;
    config.http = SocketAddr::from(([127, 0, 0, 1], 0));
    config.mining = Mining::Automine;
    configure(&mut config);
    braid_node::start(config).await.expect("the node starts")
}

pub fn http(node: &NodeHandle) -> HttpClient {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(60))
        .build(format!("http://{}", node.local_addr()))
        .unwrap()
}

pub async fn call(client: &HttpClient, method: &str, params: Vec<Value>) -> Value {
    let mut p = jsonrpsee::core::params::ArrayParams::new();
    for v in params {
        p.insert(v).unwrap();
    }
    client
        .request::<Value, _>(method, p)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

pub async fn call_err(
    client: &HttpClient,
    method: &str,
    params: Vec<Value>,
) -> (i32, String, Value) {
    let mut p = jsonrpsee::core::params::ArrayParams::new();
    for v in params {
        p.insert(v).unwrap();
    }
    match client.request::<Value, _>(method, p).await {
        Ok(v) => panic!("{method} answered {v}, expected an error"),
        Err(jsonrpsee::core::ClientError::Call(e)) => (
            e.code(),
            e.message().to_string(),
            e.data()
                .map(|d| serde_json::from_str(d.get()).unwrap())
                .unwrap_or(Value::Null),
        ),
        Err(e) => panic!("{method}: transport error {e}"),
    }
}

pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

pub fn u64_of(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

pub fn u256_of(v: &Value) -> U256 {
    v.as_str().unwrap().parse().unwrap()
}

/// POSTs `body` as raw HTTP/1.1 and returns (status, body).
pub fn raw_post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading the whole body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Signs an EIP-1559 transaction from dev account `from`.
pub fn eth_tx(
    from: usize,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Vec<u8>,
    gas: u64,
) -> Vec<u8> {
    match braid_dev::sign_ethereum(
        &spec(),
        &braid_dev::dev_key(from),
        nonce,
        to,
        value,
        input,
        gas,
        false,
    ) {
        RawTransaction::Ethereum(bytes) => bytes,
        RawTransaction::Braid(_) => unreachable!(),
    }
}

pub async fn nonce(client: &HttpClient, address: Address) -> u64 {
    u64_of(
        &call(
            client,
            "eth_getTransactionCount",
            vec![address.to_string().into(), "pending".into()],
        )
        .await,
    )
}

/// Waits (bounded) for a receipt.
pub async fn receipt(client: &HttpClient, hash: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = call(client, "eth_getTransactionReceipt", vec![hash.clone()]).await;
        if !r.is_null() {
            return r;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn head_and_root(client: &HttpClient) -> (u64, String) {
    let block = call(
        client,
        "eth_getBlockByNumber",
        vec!["latest".into(), false.into()],
    )
    .await;
    (
        u64_of(&block["number"]),
        block["stateRoot"].as_str().unwrap().to_string(),
    )
}

pub async fn chain_id(client: &HttpClient) -> u64 {
    u64_of(
        &client
            .request::<Value, _>("eth_chainId", rpc_params![])
            .await
            .unwrap(),
    )
}
