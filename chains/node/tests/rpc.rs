//! `braid node` in process, driven over its JSON-RPC as a client drives it:
//! the Ethereum methods on real transactions (transfers, the token's events,
//! reverts with custom errors, gas estimates, filters, subscriptions), a
//! Braid transaction to the PVM token checked with `braid_call` and a proof
//! verified offline, `eth_call` against plain revm on the same state, and
//! every kind of bad input refused by name with nothing changed.

mod common;

use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_sol_types::{SolCall, SolError, sol};
use braid_chain::tx::{BraidCall, BraidTransaction};
use braid_chain::{Chain, RawTransaction};
use braid_core::{EngineId, StateKey};
use braid_node::Storage;
use braid_state::{Proof, RocksDbBackend, verify_proof};
use common::*;
use jsonrpsee::core::client::{ClientT, Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use parity_scale_codec::{Decode, Encode};
use serde_json::{Value, json};

sol! {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
}

const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn token() -> Address {
    braid_dev::dev_token_address()
}

async fn send(client: &jsonrpsee::http_client::HttpClient, bytes: Vec<u8>) -> Value {
    call(client, "eth_sendRawTransaction", vec![hex0x(&bytes).into()]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethereum_methods_answer_as_geth_does() {
    let node = start(Storage::Memory, |_| {}).await;
    let client = http(&node);
    assert_eq!(chain_id(&client).await, 4242);
    assert_eq!(call(&client, "net_version", vec![]).await, "4242");
    assert!(
        call(&client, "web3_clientVersion", vec![])
            .await
            .as_str()
            .unwrap()
            .starts_with("braid/v")
    );
    assert_eq!(call(&client, "eth_syncing", vec![]).await, false);
    assert_eq!(call(&client, "eth_accounts", vec![]).await, json!([]));
    // The six bundled blocks were applied.
    let (head, _) = head_and_root(&client).await;
    assert_eq!(head, 6);

    // A block by number and by hash, with hashes and with objects.
    let block = call(
        &client,
        "eth_getBlockByNumber",
        vec!["0x1".into(), false.into()],
    )
    .await;
    let by_hash = call(
        &client,
        "eth_getBlockByHash",
        vec![block["hash"].clone(), true.into()],
    )
    .await;
    assert_eq!(by_hash["number"], "0x1");
    assert_eq!(by_hash["transactions"][0]["hash"], block["transactions"][0]);
    assert_eq!(
        block["parentHash"],
        call(
            &client,
            "eth_getBlockByNumber",
            vec!["0x0".into(), false.into()]
        )
        .await["hash"]
    );
    assert!(
        call(
            &client,
            "eth_getBlockByNumber",
            vec!["0x99".into(), false.into()]
        )
        .await
        .is_null()
    );

    // An ETH transfer to a fresh address.
    let from = braid_dev::dev_address(3);
    let to = Address::repeat_byte(0x77);
    let n = nonce(&client, from).await;
    let hash = send(
        &client,
        eth_tx(3, n, TxKind::Call(to), U256::from(12345), vec![], 21_000),
    )
    .await;
    let r = receipt(&client, &hash).await;
    assert_eq!(r["status"], "0x1");
    assert_eq!(r["gasUsed"], "0x5208");
    assert_eq!(r["from"], json!(from));
    assert_eq!(
        u256_of(&call(&client, "eth_getBalance", vec![json!(to), "latest".into()]).await),
        U256::from(12345)
    );
    assert_eq!(nonce(&client, from).await, n + 1);
    let tx = call(&client, "eth_getTransactionByHash", vec![hash.clone()]).await;
    assert_eq!(tx["blockHash"], r["blockHash"]);
    assert_eq!(tx["from"], json!(from));
    let receipts = call(
        &client,
        "eth_getBlockReceipts",
        vec![r["blockNumber"].clone()],
    )
    .await;
    assert_eq!(receipts[0]["transactionHash"], hash);

    // The token: balanceOf through eth_call, a transfer, its log through
    // eth_getLogs and a log filter.
    let holder = braid_dev::dev_address(1);
    let balance_call =
        json!({"to": token(), "data": hex0x(&balanceOfCall { owner: holder }.abi_encode())});
    let before = call(
        &client,
        "eth_call",
        vec![balance_call.clone(), "latest".into()],
    )
    .await;
    let before = U256::from_be_slice(&hex::decode(&before.as_str().unwrap()[2..]).unwrap());
    assert!(before > U256::ZERO);
    let filter = call(
        &client,
        "eth_newFilter",
        vec![json!({"address": token(), "topics": [TRANSFER_TOPIC]})],
    )
    .await;
    let blocks = call(&client, "eth_newBlockFilter", vec![]).await;
    let data = transferCall {
        to,
        value: U256::from(7),
    }
    .abi_encode();
    let estimate = u64_of(
        &call(
            &client,
            "eth_estimateGas",
            vec![json!({"from": holder, "to": token(), "data": hex0x(&data)})],
        )
        .await,
    );
    let n = nonce(&client, holder).await;
    let hash = send(
        &client,
        eth_tx(
            1,
            n,
            TxKind::Call(token()),
            U256::ZERO,
            data.clone(),
            estimate,
        ),
    )
    .await;
    let r = receipt(&client, &hash).await;
    assert_eq!(r["status"], "0x1", "the estimate {estimate} suffices");
    let used = u64_of(&r["gasUsed"]);
    assert!(
        used <= estimate && estimate <= used + used / 20,
        "estimate {estimate}, used {used}"
    );
    assert_eq!(r["logs"][0]["topics"][0], TRANSFER_TOPIC);
    let logs = call(&client, "eth_getLogs", vec![json!({"address": token(), "topics": [TRANSFER_TOPIC, null, format!("0x{:0>64}", hex::encode(to))], "fromBlock": "0x1", "toBlock": "latest"})]).await;
    assert_eq!(logs.as_array().unwrap().len(), 1, "{logs}");
    assert_eq!(logs[0]["transactionHash"], hash);
    let changes = call(&client, "eth_getFilterChanges", vec![filter.clone()]).await;
    assert_eq!(changes.as_array().unwrap().len(), 1, "{changes}");
    assert_eq!(
        call(&client, "eth_getFilterChanges", vec![filter.clone()]).await,
        json!([])
    );
    let new_blocks = call(&client, "eth_getFilterChanges", vec![blocks]).await;
    assert_eq!(new_blocks.as_array().unwrap().len(), 1);
    assert_eq!(new_blocks[0], r["blockHash"]);
    assert_eq!(
        call(&client, "eth_uninstallFilter", vec![filter.clone()]).await,
        true
    );
    let (code, message, _) = call_err(&client, "eth_getFilterChanges", vec![filter]).await;
    assert_eq!((code, message.contains("filter not found")), (-32000, true));

    // A revert with the token's custom error: code 3, the data decodes.
    let too_much = transferCall {
        to,
        value: U256::MAX,
    }
    .abi_encode();
    let (code, message, data) = call_err(
        &client,
        "eth_call",
        vec![
            json!({"from": holder, "to": token(), "data": hex0x(&too_much)}),
            "latest".into(),
        ],
    )
    .await;
    assert_eq!((code, message.as_str()), (3, "execution reverted"));
    let data = hex::decode(&data.as_str().unwrap()[2..]).unwrap();
    let decoded = InsufficientBalance::abi_decode(&data).unwrap();
    assert_eq!((decoded.from, decoded.needed), (holder, U256::MAX));
    let (code, _, data) = call_err(
        &client,
        "eth_estimateGas",
        vec![json!({"from": holder, "to": token(), "data": hex0x(&too_much)})],
    )
    .await;
    assert_eq!(code, 3);
    assert!(
        data.as_str()
            .unwrap()
            .starts_with(&hex0x(&InsufficientBalance::SELECTOR))
    );

    // State overrides: a balance and code that returns it (SELFBALANCE).
    let probe = Address::repeat_byte(0x55);
    let code = "0x4760005260206000f3"; // SELFBALANCE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    let out = call(
        &client,
        "eth_call",
        vec![
            json!({"to": probe}),
            "latest".into(),
            json!({probe.to_string(): {"balance": "0x2a", "code": code}}),
        ],
    )
    .await;
    assert_eq!(
        U256::from_be_slice(&hex::decode(&out.as_str().unwrap()[2..]).unwrap()),
        U256::from(42)
    );
    assert_eq!(
        call(&client, "eth_getCode", vec![json!(probe), "latest".into()]).await,
        "0x",
        "overrides are not committed"
    );

    // Fees.
    let tip = u256_of(&call(&client, "eth_maxPriorityFeePerGas", vec![]).await);
    let price = u256_of(&call(&client, "eth_gasPrice", vec![]).await);
    assert_eq!(price, tip + U256::from(spec().base_fee));
    let history = call(
        &client,
        "eth_feeHistory",
        vec!["0x4".into(), "latest".into(), json!([25.0, 75.0])],
    )
    .await;
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 5);
    assert_eq!(history["reward"].as_array().unwrap().len(), 4);

    // A storage slot: the token's totalSupply (slot 2).
    let supply = call(
        &client,
        "eth_getStorageAt",
        vec![json!(token()), "0x2".into(), "latest".into()],
    )
    .await;
    assert_ne!(supply, json!(format!("0x{}", "0".repeat(64))));
    // State of an older block is refused by name.
    let (code, message, _) =
        call_err(&client, "eth_getBalance", vec![json!(to), "0x1".into()]).await;
    assert_eq!(code, -32000);
    assert!(message.contains("block 1 is not the head"), "{message}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions_deliver_heads_and_logs() {
    let node = start(Storage::Memory, |_| {}).await;
    let client = http(&node);
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.local_addr()))
        .await
        .unwrap();
    let mut heads: Subscription<Value> = ws
        .subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .unwrap();
    let mut logs: Subscription<Value> = ws
        .subscribe(
            "eth_subscribe",
            rpc_params![
                "logs",
                json!({"address": token(), "topics": [TRANSFER_TOPIC]})
            ],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let holder = braid_dev::dev_address(2);
    let n = nonce(&client, holder).await;
    let data = transferCall {
        to: Address::repeat_byte(9),
        value: U256::from(1),
    }
    .abi_encode();
    let hash = send(
        &client,
        eth_tx(2, n, TxKind::Call(token()), U256::ZERO, data, 100_000),
    )
    .await;
    let head = tokio::time::timeout(Duration::from_secs(30), heads.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let log = tokio::time::timeout(Duration::from_secs(30), logs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(log["transactionHash"], hash);
    assert_eq!(log["blockHash"], head["hash"]);
    let r = receipt(&client, &hash).await;
    assert_eq!(r["blockHash"], head["hash"]);
    // A subscription kind the node does not serve is refused by name.
    let err = ws
        .subscribe::<Value, _>("eth_subscribe", rpc_params!["syncing"], "eth_unsubscribe")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Syncing"), "{err}");
    node.stop().await.unwrap();
}

/// A Braid sender's nonce, read with `braid_getState` (system engine, key
/// `0x03 ‖ sender`, 8 bytes big-endian).
async fn braid_nonce(client: &jsonrpsee::http_client::HttpClient, sender: Address) -> u64 {
    let key = braid_chain::tx::nonce_key(&braid_core::Identity(sender.0.0));
    let state = call(
        client,
        "braid_getState",
        vec![
            "system".into(),
            json!(Address::ZERO),
            hex0x(&key.engine_key).into(),
        ],
    )
    .await;
    state["value"].as_str().map_or(0, |v| {
        u64::from_be_bytes(hex::decode(&v[2..]).unwrap().try_into().unwrap())
    })
}

fn pvm_transfer(to: Address, amount: u64) -> Vec<u8> {
    let mut input = vec![0x01];
    input.extend_from_slice(to.as_slice());
    input.extend_from_slice(&amount.to_le_bytes());
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_braid_transaction_to_the_pvm_token_is_checked_by_call_and_proof() {
    let node = start(Storage::Memory, |_| {}).await;
    let client = http(&node);
    let spec = spec();
    let pvm_token = braid_dev::pvm_token_identity(spec.chain_id);
    let recipient = Address::repeat_byte(0x42);
    let signed = BraidTransaction {
        chain_id: spec.chain_id,
        nonce: braid_nonce(&client, braid_dev::dev_braid_address(0)).await,
        gas_limit: 2_000_000,
        max_fee_per_gas: 2 * u128::from(spec.base_fee),
        max_priority_fee_per_gas: 1,
        calls: vec![BraidCall::Call {
            engine: EngineId::PVM.0,
            target: pvm_token.0,
            input: pvm_transfer(recipient, 33),
            value: [0; 32],
        }],
    }
    .sign(&braid_dev::dev_braid_key(0));
    let hash = call(
        &client,
        "braid_sendTransaction",
        vec![hex0x(&signed.encode()).into()],
    )
    .await;
    let r = receipt(&client, &hash).await;
    assert_eq!(r["status"], "0x1");
    assert_eq!(r["type"], "0x42");
    let braid_receipt = call(&client, "braid_getReceipt", vec![hash.clone()]).await;
    assert_eq!(braid_receipt["kind"], "braid");
    assert_eq!(braid_receipt["calls"][0]["status"], "halt");
    assert!(braid_receipt["gasByEngine"]["0x02"].as_u64().unwrap() > 0);

    // braid_call: the PVM token's balance_of(recipient) is 33.
    let mut query = vec![0x02];
    query.extend_from_slice(recipient.as_slice());
    let answer = call(
        &client,
        "braid_call",
        vec![
            json!({"engine": "pvm", "target": Address::from(pvm_token.0), "input": hex0x(&query)}),
        ],
    )
    .await;
    assert_eq!(answer["status"], "halt");
    assert_eq!(answer["output"], hex0x(&33u64.to_le_bytes()));

    // braid_getProof, verified with nothing but the root in the block header.
    let mut key = vec![0x01];
    key.extend_from_slice(recipient.as_slice());
    let proof = call(
        &client,
        "braid_getProof",
        vec![
            "pvm".into(),
            json!(Address::from(pvm_token.0)),
            hex0x(&key).into(),
        ],
    )
    .await;
    let block = call(
        &client,
        "eth_getBlockByNumber",
        vec![
            json!(format!("{:#x}", proof["blockNumber"].as_u64().unwrap())),
            false.into(),
        ],
    )
    .await;
    assert_eq!(block["stateRoot"], proof["stateRoot"]);
    let root: [u8; 32] = hex::decode(&proof["stateRoot"].as_str().unwrap()[2..])
        .unwrap()
        .try_into()
        .unwrap();
    let bytes = hex::decode(&proof["proof"].as_str().unwrap()[2..]).unwrap();
    let decoded = Proof::decode(&mut &bytes[..]).unwrap();
    let state_key = StateKey::new(EngineId::PVM, pvm_token, key);
    verify_proof(
        &root,
        &state_key.encode(),
        Some(&33u64.to_le_bytes()),
        &decoded,
    )
    .unwrap();
    assert!(
        verify_proof(
            &root,
            &state_key.encode(),
            Some(&34u64.to_le_bytes()),
            &decoded
        )
        .is_err()
    );
    node.stop().await.unwrap();
}

/// What `eth_call` answers equals what revm answers on the same state: the
/// node's EVM accounts, storage and code loaded into a `CacheDB`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_call_equals_revm_on_the_same_state() {
    use revm::context::TxEnv;
    use revm::database::{CacheDB, EmptyDB};
    use revm::primitives::KECCAK_EMPTY;
    use revm::state::{AccountInfo, Bytecode};
    use revm::{ExecuteEvm, MainBuilder, MainContext};

    let dir = tempfile::tempdir().unwrap();
    let node = start(Storage::RocksDb(dir.path().to_path_buf()), |_| {}).await;
    let client = http(&node);
    let holders: Vec<Address> = (0..braid_dev::DEV_ACCOUNTS)
        .map(braid_dev::dev_address)
        .chain([Address::repeat_byte(9)])
        .collect();
    let calls: Vec<Vec<u8>> = holders
        .iter()
        .map(|h| balanceOfCall { owner: *h }.abi_encode())
        .chain([
            transferCall {
                to: holders[2],
                value: U256::from(5),
            }
            .abi_encode(),
            transferCall {
                to: holders[2],
                value: U256::MAX,
            }
            .abi_encode(),
        ])
        .collect();
    let mut answers = Vec::new();
    for data in &calls {
        let request = json!({"from": holders[1], "to": token(), "data": hex0x(data)});
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        p.insert(request).unwrap();
        p.insert("latest").unwrap();
        answers.push(match client.request::<Value, _>("eth_call", p).await {
            Ok(v) => (true, v.as_str().unwrap().to_string()),
            Err(jsonrpsee::core::ClientError::Call(e)) => {
                (false, e.data().unwrap().get().trim_matches('"').to_string())
            }
            Err(e) => panic!("{e}"),
        });
    }
    let (head, _) = head_and_root(&client).await;
    node.stop().await.unwrap();

    let chain = Chain::open(
        spec(),
        std::sync::Arc::new(RocksDbBackend::open(dir.path()).unwrap()),
    )
    .unwrap();
    assert_eq!(chain.head().number, head);
    let mut cache = CacheDB::new(EmptyDB::default());
    for (key, value) in chain.db().scan_engine(EngineId::EVM).unwrap() {
        let address = Address::from(key.identity.0);
        if key.engine_key == braid_evm::layout::ACCOUNT_RECORD_KEY {
            let record = braid_evm::layout::AccountRecord::from_bytes(&value).unwrap();
            let code = if record.code_hash() == KECCAK_EMPTY {
                Bytecode::default()
            } else {
                let raw = chain
                    .db()
                    .get(
                        EngineId::SYSTEM,
                        &braid_core::Identity([0; 20]),
                        &StateKey::code(&record.code_hash).engine_key,
                    )
                    .unwrap()
                    .unwrap();
                Bytecode::new_raw(Bytes::from(raw))
            };
            cache.insert_account_info(
                address,
                AccountInfo::new(record.balance(), record.nonce, record.code_hash(), code),
            );
        } else if let Some(slot) = braid_evm::layout::slot_of(&key.engine_key) {
            cache
                .insert_account_storage(
                    address,
                    U256::from_be_bytes(slot),
                    U256::from_be_slice(&value),
                )
                .unwrap();
        }
    }
    let engine = braid_evm::EvmEngine::new(spec().evm_spec.spec_id());
    let mut env = engine.block_env(&braid_core::BlockEnv {
        chain_id: spec().chain_id,
        number: head,
        timestamp: chain.head().timestamp,
        coinbase: braid_core::Identity(spec().coinbase.0.0),
        gas_limit: spec().block_gas_limit,
        base_fee: spec().base_fee,
        prevrandao: [0; 32],
        difficulty: [0; 32],
        excess_blob_gas: Some(0),
    });
    env.basefee = 0; // eth_call without a gas price, as geth runs it
    let mut cfg = engine.cfg(spec().chain_id);
    cfg.disable_nonce_check = true;
    let mut evm = revm::Context::mainnet()
        .with_db(cache)
        .with_cfg(cfg)
        .with_block(env)
        .build_mainnet();
    for (data, (ok, answer)) in calls.iter().zip(&answers) {
        let tx = TxEnv {
            caller: holders[1],
            kind: TxKind::Call(token()),
            data: Bytes::from(data.clone()),
            gas_limit: spec().block_gas_limit,
            gas_price: 0,
            chain_id: Some(spec().chain_id),
            ..TxEnv::default()
        };
        let result = evm.transact(tx).unwrap().result;
        assert_eq!(result.is_success(), *ok, "{result:?}");
        assert_eq!(hex0x(result.output().unwrap()), *answer);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_by_name_and_changes_nothing() {
    let node = start(Storage::Memory, |c| c.limits.max_logs_blocks = 3).await;
    let client = http(&node);
    let addr = node.local_addr();
    let before = head_and_root(&client).await;

    let rpc_error = |body: &str| -> (i64, String) {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let e = if v.is_array() {
            &v[0]["error"]
        } else {
            &v["error"]
        };
        (
            e["code"].as_i64().unwrap(),
            format!("{} {}", e["message"], e["data"]),
        )
    };
    // Malformed JSON.
    let (_, body) = raw_post(addr, br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId""#);
    assert_eq!(rpc_error(&body).0, -32700, "{body}");
    // Unknown method, alone and in a batch.
    let (_, body) = raw_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"eth_frobnicate","params":[]}"#,
    );
    let (code, message) = rpc_error(&body);
    assert_eq!(code, -32601);
    assert!(message.contains("eth_frobnicate"), "{message}");
    let (_, body) = raw_post(
        addr,
        br#"[{"jsonrpc":"2.0","id":1,"method":"eth_frobnicate","params":[]}]"#,
    );
    assert!(rpc_error(&body).1.contains("eth_frobnicate"), "{body}");
    // Wrong parameter types.
    let (_, body) = raw_post(addr, br#"{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["not-an-address","latest"]}"#);
    let (code, message) = rpc_error(&body);
    assert_eq!(code, -32602);
    assert!(message.contains("not-an-address"), "{message}");
    let (_, body) = raw_post(
        addr,
        br#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[true,"yes"]}"#,
    );
    assert_eq!(rpc_error(&body).0, -32602, "{body}");
    // An oversized body (over 5 MiB).
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["{}"]}}"#,
        "a".repeat(6 << 20)
    );
    let (status, body) = raw_post(addr, big.as_bytes());
    assert_eq!(status, 413);
    let (code, message) = rpc_error(&body);
    assert_eq!(code, -32007);
    assert!(message.contains("5242880"), "{message}");
    // A batch over the limit (1,000).
    let batch: Vec<Value> = (0..1001)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_chainId"}))
        .collect();
    let (_, body) = raw_post(addr, serde_json::to_string(&batch).unwrap().as_bytes());
    let (code, message) = rpc_error(&body);
    assert_eq!(code, -32010);
    assert!(message.contains("1000"), "{message}");

    // Transactions.
    let spec = spec();
    let sender = braid_dev::dev_address(4);
    let n = nonce(&client, sender).await;
    let signed =
        |chain_id: u64, nonce: u64, gas: u64, zero_r: bool, key: &k256::ecdsa::SigningKey| {
            let tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit: gas,
                max_fee_per_gas: 2 * u128::from(spec.base_fee),
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::repeat_byte(1)),
                ..Default::default()
            };
            let (sig, recid) = key
                .sign_prehash_recoverable(tx.signature_hash().as_slice())
                .unwrap();
            let mut signature = Signature::from((sig, recid));
            if zero_r {
                signature = Signature::new(U256::ZERO, signature.s(), signature.v());
            }
            hex0x(&alloy_consensus::TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
        };
    let key = braid_dev::dev_key(4);
    let cases: Vec<(String, &str)> = vec![
        (
            signed(spec.chain_id, n, 21_000, true, &key),
            "invalid sender",
        ),
        (
            signed(1, n, 21_000, false, &key),
            "invalid chain id for signer: have 1 want 4242",
        ),
        (
            signed(spec.chain_id, n, 30_000_001, false, &key),
            "exceeds block gas limit: gas limit 30000001",
        ),
        (
            signed(spec.chain_id, n, 20_000, false, &key),
            "intrinsic gas too low: gas 20000, minimum needed 21000",
        ),
        (
            signed(
                spec.chain_id,
                n,
                21_000,
                false,
                &k256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap(),
            ),
            "insufficient funds for gas * price + value",
        ),
        ("0x02c0ffee".to_string(), "0x02c0ffee"),
        ("0x".to_string(), "cannot decode"),
    ];
    for (raw, expected) in cases {
        let (code, message, _) =
            call_err(&client, "eth_sendRawTransaction", vec![raw.clone().into()]).await;
        assert_eq!(code, -32000, "{raw}: {message}");
        assert!(
            message.contains(expected),
            "{raw}: {message:?} lacks {expected:?}"
        );
    }
    // Nonce too low: include one, then send its nonce again.
    let hash = send(
        &client,
        eth_tx(
            4,
            n,
            TxKind::Call(Address::repeat_byte(1)),
            U256::ZERO,
            vec![],
            21_000,
        ),
    )
    .await;
    receipt(&client, &hash).await;
    let after_one = head_and_root(&client).await;
    assert_eq!(after_one.0, before.0 + 1);
    let (code, message, _) = call_err(
        &client,
        "eth_sendRawTransaction",
        vec![
            hex0x(&eth_tx(
                4,
                n,
                TxKind::Call(Address::repeat_byte(2)),
                U256::ZERO,
                vec![],
                21_000,
            ))
            .into(),
        ],
    )
    .await;
    assert_eq!(code, -32000);
    assert!(
        message.contains(&format!(
            "nonce too low: address {sender}, tx: {n} state: {}",
            n + 1
        )),
        "{message}"
    );
    // A Braid transaction with garbage bytes, and one with a bad signature.
    let (code, message, _) =
        call_err(&client, "braid_sendTransaction", vec!["0xffff".into()]).await;
    assert_eq!(code, -32000);
    assert!(
        message.contains("cannot decode braid transaction 0xffff"),
        "{message}"
    );
    let RawTransaction::Braid(mut bytes) = braid_dev::sign_braid(
        &spec,
        &braid_dev::dev_braid_key(0),
        0,
        vec![(EngineId::EVM, [1; 20], vec![])],
        50_000,
    ) else {
        unreachable!()
    };
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let (_, message, _) =
        call_err(&client, "braid_sendTransaction", vec![hex0x(&bytes).into()]).await;
    assert!(message.starts_with("invalid sender"), "{message}");
    // eth_getLogs over more blocks than allowed (3 here).
    let (code, message, _) = call_err(
        &client,
        "eth_getLogs",
        vec![json!({"fromBlock": "0x0", "toBlock": "0x5"})],
    )
    .await;
    assert_eq!(code, -32005);
    assert!(
        message.contains("max block range 3") && message.contains("span 6"),
        "{message}"
    );

    // Nothing changed but the one valid transaction's block, and the node serves.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(head_and_root(&client).await, after_one);
    let status = call(&client, "txpool_status", vec![]).await;
    assert_eq!(status, json!({"pending": "0x0", "queued": "0x0"}));
    let (_, health) = {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        stream
            .write_all(
                format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        ((), out)
    };
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    assert!(
        client
            .request::<Value, _>("eth_chainId", rpc_params![])
            .await
            .is_ok()
    );
    node.stop().await.unwrap();
}

/// A pooled transaction whose sender's funds an earlier one in the same
/// block spends is dropped at block building; the block is made without
/// it and nothing else is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_invalid_at_building_never_poisons_a_block() {
    let node = start(Storage::Memory, |c| {
        c.mining = braid_node::Mining::Interval(Duration::from_millis(400))
    })
    .await;
    let client = http(&node);
    // A fresh key funded with just enough for one transfer of half its balance.
    let key = k256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let poor = Address::from_private_key(&key);
    let fee = U256::from(21_000u64) * U256::from(2 * spec().base_fee + 1);
    let fund = fee * U256::from(3);
    let n = nonce(&client, braid_dev::dev_address(5)).await;
    let hash = send(
        &client,
        eth_tx(5, n, TxKind::Call(poor), fund, vec![], 21_000),
    )
    .await;
    receipt(&client, &hash).await;
    // Two transactions, each affordable alone: the first spends most of the balance.
    let sign = |nonce: u64, value: U256| {
        let tx = TxEip1559 {
            chain_id: spec().chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2 * u128::from(spec().base_fee) + 1,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(3)),
            value,
            ..Default::default()
        };
        let (sig, recid) = key
            .sign_prehash_recoverable(tx.signature_hash().as_slice())
            .unwrap();
        alloy_consensus::TxEnvelope::from(tx.into_signed(Signature::from((sig, recid))))
            .encoded_2718()
    };
    let first = send(&client, sign(0, fee)).await;
    let second = send(&client, sign(1, fee)).await;
    let other = send(
        &client,
        eth_tx(
            5,
            n + 1,
            TxKind::Call(Address::repeat_byte(4)),
            U256::ONE,
            vec![],
            21_000,
        ),
    )
    .await;
    assert_eq!(receipt(&client, &first).await["status"], "0x1");
    assert_eq!(receipt(&client, &other).await["status"], "0x1");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        call(&client, "eth_getTransactionReceipt", vec![second.clone()])
            .await
            .is_null()
    );
    assert!(
        call(&client, "eth_getTransactionByHash", vec![second])
            .await
            .is_null()
    );
    let health = call(&client, "system_health", vec![]).await;
    assert_eq!(health["dropped"], 1);
    node.stop().await.unwrap();
}
