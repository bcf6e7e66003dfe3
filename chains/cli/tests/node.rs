//! `braid node` as a process under load: 16 concurrent clients (half over
//! WebSocket, half over HTTP, two of them sending Braid transactions) submit
//! transfers while a reader checks that every read sees one committed block;
//! every accepted transaction is mined exactly once, in nonce order. Then
//! `kill -9` in the middle of the load: the node reopens at its last
//! committed block with every earlier block intact, and the clients carry
//! on. Finally the node's blocks, replayed with `braid run` on a fresh
//! database, give the node's roots.
//!
//! Size: `BRAID_NODE_LOAD_TXS` transactions in all (default 2,000 so CI
//! stays short; the 10,000 is `BRAID_NODE_LOAD_TXS=10000`). The test prints
//! its figures (`--nocapture`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Signature, TxKind, U256};
use braid_chain::tx::{BraidCall, BraidTransaction, braid_sender};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::ws_client::WsClientBuilder;
use parity_scale_codec::Encode;
use serde_json::{Value, json};

const CHAIN_ID: u64 = 4343;
const BASE_FEE: u128 = 1_000_000_000;
const MAX_FEE: u128 = 2 * BASE_FEE;
const TIP: u128 = 1;
const CLIENTS: usize = 16;
/// Clients 14 and 15 send Braid transactions.
const BRAID_CLIENTS: usize = 2;
const BRAID_GAS: u64 = 200_000;
const SINK: Address = Address::repeat_byte(0x5c);
const FUNDS: u128 = 1_000_000_000_000_000_000_000;

fn load_txs() -> usize {
    std::env::var("BRAID_NODE_LOAD_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn eth_key(i: usize) -> k256::ecdsa::SigningKey {
    let seed = braid_core::keccak256(format!("braid load {i}").as_bytes());
    k256::ecdsa::SigningKey::from_slice(&seed).unwrap()
}

fn braid_key(i: usize) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&braid_core::keccak256(
        format!("braid load ed25519 {i}").as_bytes(),
    ))
}

/// Client `i`'s address (an EVM address for Braid senders too).
fn address(i: usize) -> Address {
    if i >= CLIENTS - BRAID_CLIENTS {
        Address::from(braid_sender(&braid_key(i).verifying_key().to_bytes()).0)
    } else {
        Address::from_private_key(&eth_key(i))
    }
}

fn is_braid(i: usize) -> bool {
    i >= CLIENTS - BRAID_CLIENTS
}

/// Client `i`'s transaction with `nonce`: 1 wei to the sink.
fn transaction(i: usize, nonce: u64) -> (&'static str, String) {
    if is_braid(i) {
        let mut value = [0u8; 32];
        value[31] = 1;
        let signed = BraidTransaction {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: BRAID_GAS,
            max_fee_per_gas: MAX_FEE,
            max_priority_fee_per_gas: TIP,
            calls: vec![BraidCall::Call {
                engine: 1,
                target: SINK.0.0,
                input: vec![],
                value,
            }],
        }
        .sign(&braid_key(i));
        (
            "braid_sendTransaction",
            format!("0x{}", hex::encode(signed.encode())),
        )
    } else {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: MAX_FEE,
            max_priority_fee_per_gas: TIP,
            to: TxKind::Call(SINK),
            value: U256::ONE,
            ..Default::default()
        };
        let (sig, recid) = eth_key(i)
            .sign_prehash_recoverable(tx.signature_hash().as_slice())
            .unwrap();
        let envelope = TxEnvelope::from(tx.into_signed(Signature::from((sig, recid))));
        (
            "eth_sendRawTransaction",
            format!("0x{}", hex::encode(envelope.encoded_2718())),
        )
    }
}

/// A chain directory funding the 16 clients.
fn chain_dir(root: &Path) -> PathBuf {
    let dir = root.join("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let mut spec = format!(
        "[chain]\nname = \"braid-load\"\nchain_id = {CHAIN_ID}\nevm_spec = \"prague\"\nbase_fee = {BASE_FEE}\n\n[genesis]\ntimestamp = 1767225600\ncoinbase = \"0x0000000000000000000000000000000000000000\"\n\n[genesis.alloc]\n"
    );
    for i in 0..CLIENTS {
        spec.push_str(&format!(
            "\"{}\" = {{ balance = \"{FUNDS}\" }}\n",
            address(i)
        ));
    }
    std::fs::write(dir.join("chain.toml"), spec).unwrap();
    dir
}

struct Node {
    child: Child,
    addr: String,
}

fn start(chain: &Path, db: &Path) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_braid"))
        .args([
            "node",
            chain.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .next()
        .expect("the node prints where it listens")
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    // Keep draining stdout so the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Node { child, addr }
}

fn params(values: Vec<Value>) -> ArrayParams {
    let mut p = ArrayParams::new();
    for v in values {
        p.insert(v).unwrap();
    }
    p
}

fn u64_of(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Accepted hash -> (client, nonce).
    accepted: HashMap<String, (usize, u64)>,
    refused: Vec<String>,
}

/// Client `i` sends its transactions with nonces `from..to` over WebSocket
/// (even `i`) or HTTP (odd `i`); stops early when `stop` is set. Returns
/// the accepted hashes with their nonces, and refusals.
async fn client(addr: String, i: usize, from: u64, to: u64, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let send = |method: &'static str, raw: String| (method, params(vec![raw.into()]));
    if i.is_multiple_of(2) {
        let ws = WsClientBuilder::default()
            .request_timeout(Duration::from_secs(120))
            .build(format!("ws://{addr}"))
            .await
            .unwrap();
        for nonce in from..to {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (method, p) = send(transaction(i, nonce).0, transaction(i, nonce).1);
            match ws.request::<Value, _>(method, p).await {
                Ok(hash) => {
                    seen.accepted
                        .insert(hash.as_str().unwrap().to_string(), (i, nonce));
                }
                Err(e) => {
                    seen.refused.push(e.to_string());
                    break;
                }
            }
        }
    } else {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(120))
            .build(format!("http://{addr}"))
            .unwrap();
        for nonce in from..to {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (method, raw) = transaction(i, nonce);
            match http
                .request::<Value, _>(method, params(vec![raw.into()]))
                .await
            {
                Ok(hash) => {
                    seen.accepted
                        .insert(hash.as_str().unwrap().to_string(), (i, nonce));
                }
                Err(e) => {
                    seen.refused.push(e.to_string());
                    break;
                }
            }
        }
    }
    seen
}

/// Reads `(balance, nonce)` of client 0 at the head's hash until `stop`;
/// every pair must satisfy `balance = FUNDS − nonce × (1 + 21,000 ×
/// effective price)`: a read never sees half a block. Returns how many
/// consistent pairs it read.
async fn reader(addr: String, stop: Arc<AtomicBool>, checked: Arc<AtomicU64>) {
    let http = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let who = json!(address(0));
    let per_tx = U256::from(1u64) + U256::from(21_000u64) * U256::from(BASE_FEE + TIP);
    while !stop.load(Ordering::Relaxed) {
        let Ok(block) = http
            .request::<Value, _>(
                "eth_getBlockByNumber",
                params(vec!["latest".into(), false.into()]),
            )
            .await
        else {
            break;
        };
        let at = json!({"blockHash": block["hash"]});
        let balance = http
            .request::<Value, _>("eth_getBalance", params(vec![who.clone(), at.clone()]))
            .await;
        let nonce = http
            .request::<Value, _>("eth_getTransactionCount", params(vec![who.clone(), at]))
            .await;
        match (balance, nonce) {
            (Ok(balance), Ok(nonce)) => {
                let balance: U256 = balance.as_str().unwrap().parse().unwrap();
                let nonce = u64_of(&nonce);
                assert_eq!(
                    balance,
                    U256::from(FUNDS) - U256::from(nonce) * per_tx,
                    "a read saw a block half applied (nonce {nonce})"
                );
                checked.fetch_add(1, Ordering::Relaxed);
            }
            // The head moved between the calls: the node refuses the old block by name.
            (Err(e), _) | (_, Err(e)) if e.to_string().contains("is not the head") => {}
            (Err(e), _) | (_, Err(e)) => panic!("read failed: {e}"),
        }
    }
}

/// A block as the clients see it: (hash, parent hash, state root, [(tx hash, from, nonce)]).
type SeenBlock = (String, String, String, Vec<(String, Address, u64)>);

/// Every block from 1 to the head.
async fn blocks(addr: &str) -> Vec<SeenBlock> {
    let http = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(120))
        .build(format!("http://{addr}"))
        .unwrap();
    let head = u64_of(
        &http
            .request::<Value, _>("eth_blockNumber", params(vec![]))
            .await
            .unwrap(),
    );
    let mut out = Vec::new();
    for n in 0..=head {
        let b = http
            .request::<Value, _>(
                "eth_getBlockByNumber",
                params(vec![json!(format!("{n:#x}")), true.into()]),
            )
            .await
            .unwrap();
        let txs = b["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["hash"].as_str().unwrap().to_string(),
                    t["from"].as_str().unwrap().parse().unwrap(),
                    u64_of(&t["nonce"]),
                )
            })
            .collect();
        out.push((
            b["hash"].as_str().unwrap().to_string(),
            b["parentHash"].as_str().unwrap().to_string(),
            b["stateRoot"].as_str().unwrap().to_string(),
            txs,
        ));
    }
    out
}

async fn wait_until_mined(addr: &str, expected: usize) {
    let http = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = http
            .request::<Value, _>("txpool_status", params(vec![]))
            .await
            .unwrap();
        if u64_of(&status["pending"]) == 0 && u64_of(&status["queued"]) == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{expected} transactions not mined in time: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every accepted transaction is in exactly one block; per sender, nonces
/// follow each other from 0 in block order; nothing else is in the blocks.
fn check_mined(chain: &[SeenBlock], accepted: &HashMap<String, (usize, u64)>) {
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mut next: HashMap<Address, u64> = HashMap::new();
    for (i, (hash, parent, _, txs)) in chain.iter().enumerate() {
        if i > 0 {
            assert_eq!(
                *parent,
                chain[i - 1].0,
                "block {i} does not link to block {}",
                i - 1
            );
        }
        let _ = hash;
        for (tx, from, nonce) in txs {
            *count.entry(tx.as_str()).or_default() += 1;
            let expected = next.entry(*from).or_default();
            assert_eq!(
                *nonce,
                *expected,
                "sender {from}: nonce {nonce} mined after {}",
                *expected as i64 - 1
            );
            *expected += 1;
        }
    }
    for hash in accepted.keys() {
        assert_eq!(
            count.get(hash.as_str()),
            Some(&1),
            "accepted {hash} mined {:?} times",
            count.get(hash.as_str())
        );
    }
    let mined: usize = count.values().sum();
    assert_eq!(
        mined,
        accepted.len(),
        "the blocks hold transactions no client had accepted"
    );
}

/// Replays the node's blocks with `braid run` on a fresh database and
/// compares every root.
fn replay(addr: &str, chain: &Path, roots: &[String], root: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = root.join("replay");
    std::fs::create_dir_all(dir.join("blocks")).unwrap();
    std::fs::copy(chain.join("chain.toml"), dir.join("chain.toml")).unwrap();
    let http = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    runtime.block_on(async {
        for n in 1..roots.len() {
            let block = http
                .request::<Value, _>("braid_getBlock", params(vec![json!(format!("{n:#x}"))]))
                .await
                .unwrap();
            std::fs::write(
                dir.join(format!("blocks/{n:06}.json")),
                serde_json::to_string_pretty(&block).unwrap(),
            )
            .unwrap();
        }
    });
    let out = Command::new(env!("CARGO_BIN_EXE_braid"))
        .args([
            "run",
            dir.to_str().unwrap(),
            "--db",
            dir.join("db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let printed: BTreeMap<u64, String> = text
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() == 5)
                .then(|| Some((cols[0].parse().ok()?, cols[4].to_string())))
                .flatten()
        })
        .collect();
    assert_eq!(printed.len(), roots.len() - 1, "{text}");
    for (n, root) in printed {
        assert_eq!(
            root, roots[n as usize],
            "block {n}: braid run and the node disagree"
        );
    }
}

fn kill9(node: &mut Node) {
    // Child::kill sends SIGKILL on Unix: no handler, no flush, no shutdown.
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}

#[test]
fn sixteen_clients_then_kill_9_and_restart_then_replay() {
    let root = tempfile::tempdir().unwrap();
    let chain = chain_dir(root.path());
    let db = root.path().join("db");
    let total = load_txs();
    let per_client = (total / CLIENTS) as u64;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Phase 1: load, with a reader checking consistency, then stop cleanly.
    let mut node = start(&chain, &db);
    let stop_reader = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let seen = runtime.block_on(async {
        let reader = tokio::spawn(reader(node.addr.clone(), stop_reader.clone(), checked.clone()));
        let never = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS).map(|i| tokio::spawn(client(node.addr.clone(), i, 0, per_client, never.clone()))).collect();
        let mut all = Seen::default();
        for c in clients {
            let s = c.await.unwrap();
            all.accepted.extend(s.accepted);
            all.refused.extend(s.refused);
        }
        let submitted = started.elapsed();
        wait_until_mined(&node.addr, all.accepted.len()).await;
        let mined = started.elapsed();
        stop_reader.store(true, Ordering::Relaxed);
        reader.await.unwrap();
        println!(
            "load: {} transactions from {CLIENTS} clients (8 WebSocket, 8 HTTP; {BRAID_CLIENTS} Braid) accepted in {:.2} s, all mined after {:.2} s: {:.0} tx/s; {} consistent reads",
            all.accepted.len(),
            submitted.as_secs_f64(),
            mined.as_secs_f64(),
            all.accepted.len() as f64 / mined.as_secs_f64(),
            checked.load(Ordering::Relaxed)
        );
        all
    });
    assert!(
        seen.refused.is_empty(),
        "refused: {:?}",
        &seen.refused[..seen.refused.len().min(3)]
    );
    assert_eq!(seen.accepted.len(), per_client as usize * CLIENTS);
    assert!(
        checked.load(Ordering::Relaxed) > 0,
        "the reader never completed a read"
    );
    let before = runtime.block_on(blocks(&node.addr));
    check_mined(&before, &seen.accepted);
    println!("load: {} blocks", before.len() - 1);

    // Phase 2: kill -9 while the clients are sending.
    let stop = Arc::new(AtomicBool::new(false));
    let (in_flight, last_head, seen_hashes) = runtime.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                tokio::spawn(client(
                    node.addr.clone(),
                    i,
                    per_client,
                    per_client * 4,
                    stop.clone(),
                ))
            })
            .collect();
        let http = HttpClientBuilder::default()
            .build(format!("http://{}", node.addr))
            .unwrap();
        let start_head = before.len() as u64 - 1;
        let mut last_head = start_head;
        let mut pooled = 0;
        let mut hashes = BTreeMap::new();
        // Until blocks are being made under load and transactions wait in the pool.
        let deadline = Instant::now() + Duration::from_secs(300);
        while !(last_head >= start_head + 5 && pooled > 0) {
            assert!(Instant::now() < deadline, "the load never built up");
            let head = u64_of(
                &http
                    .request::<Value, _>("eth_blockNumber", params(vec![]))
                    .await
                    .unwrap(),
            );
            let block = http
                .request::<Value, _>(
                    "eth_getBlockByNumber",
                    params(vec![json!(format!("{head:#x}")), false.into()]),
                )
                .await
                .unwrap();
            hashes.insert(head, block["hash"].as_str().unwrap().to_string());
            last_head = head;
            let status = http
                .request::<Value, _>("txpool_status", params(vec![]))
                .await
                .unwrap();
            pooled = u64_of(&status["pending"]) + u64_of(&status["queued"]);
        }
        kill9(&mut node);
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            let _ = c.await;
        }
        (pooled, last_head, hashes)
    });
    println!("kill -9 with {in_flight} transactions pooled, head seen {last_head}");

    // Phase 3: restart; the head is at least the last one seen; every block
    // seen before the kill is intact; the clients carry on from their
    // pending nonces and everything gets mined.
    let node = start(&chain, &db);
    let after = runtime.block_on(blocks(&node.addr));
    let head = after.len() as u64 - 1;
    assert!(
        head >= last_head,
        "reopened at {head}, below the {last_head} seen before the kill"
    );
    for (n, hash) in &seen_hashes {
        assert_eq!(
            after[*n as usize].0, *hash,
            "block {n} changed across the crash"
        );
    }
    for (n, block) in before.iter().enumerate() {
        assert_eq!(after[n].0, block.0, "block {n} changed across the crash");
    }
    let mut accepted: HashMap<String, (usize, u64)> = HashMap::new();
    for (_, _, _, txs) in &after {
        for (hash, from, nonce) in txs {
            let i = (0..CLIENTS)
                .find(|i| address(*i) == *from)
                .expect("a client's transaction");
            accepted.insert(hash.clone(), (i, *nonce));
        }
    }
    let resumed = runtime.block_on(async {
        let http = HttpClientBuilder::default()
            .build(format!("http://{}", node.addr))
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let method = if is_braid(i) {
                None
            } else {
                Some("eth_getTransactionCount")
            };
            let next = match method {
                Some(m) => u64_of(
                    &http
                        .request::<Value, _>(m, params(vec![json!(address(i)), "pending".into()]))
                        .await
                        .unwrap(),
                ),
                None => after
                    .iter()
                    .flat_map(|b| &b.3)
                    .filter(|t| t.1 == address(i))
                    .count() as u64,
            };
            tasks.push(tokio::spawn(client(
                node.addr.clone(),
                i,
                next,
                next + 20,
                Arc::new(AtomicBool::new(false)),
            )));
        }
        let mut more = Seen::default();
        for t in tasks {
            let s = t.await.unwrap();
            more.accepted.extend(s.accepted);
            more.refused.extend(s.refused);
        }
        wait_until_mined(&node.addr, more.accepted.len()).await;
        more
    });
    assert!(resumed.refused.is_empty(), "{:?}", resumed.refused);
    accepted.extend(resumed.accepted);
    let last = runtime.block_on(blocks(&node.addr));
    check_mined(&last, &accepted);
    let unique: HashSet<&String> = accepted.keys().collect();
    println!(
        "after restart: {} blocks, {} transactions mined",
        last.len() - 1,
        unique.len()
    );

    // Phase 4: the node's blocks through `braid run` give the node's roots.
    let roots: Vec<String> = last.iter().map(|b| b.2.clone()).collect();
    replay(&node.addr, &chain, &roots, root.path());
    let mut node = node;
    // SIGTERM: a graceful stop.
    let status = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = node.child.wait().unwrap();
    assert!(exit.success(), "SIGTERM: {exit:?}");
}
