//! `BLOCKHASH` is consensus input: a header the chain must know but cannot
//! read stops the block with a typed error; it never runs on a zero hash.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alloy_primitives::{TxKind, U256};
use braid_chain::{Block, Chain, ChainError, ChainSpec};
use braid_core::{CoreError, EngineId, Identity};
use braid_dev::{dev_address, dev_key, sign_ethereum};
use braid_state::{Backend, Column, MemoryBackend, StateError, WriteBatch};

/// A memory backend whose reads of stored block headers fail while `fail` is set.
#[derive(Default)]
struct HeaderReadsFail {
    inner: MemoryBackend,
    fail: AtomicBool,
}

impl Backend for HeaderReadsFail {
    fn get(&self, column: Column, key: &[u8]) -> braid_state::Result<Option<Vec<u8>>> {
        if column == Column::Meta && key.starts_with(b"header/") && self.fail.load(Ordering::SeqCst)
        {
            return Err(StateError::Backend {
                context: "reading a block header".into(),
                message: "injected failure".into(),
            });
        }
        self.inner.get(column, key)
    }

    fn is_in_memory(&self) -> bool {
        true
    }

    fn write(&self, batch: WriteBatch) -> braid_state::Result<()> {
        self.inner.write(batch)
    }

    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
    ) -> braid_state::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan_prefix(column, prefix)
    }
}

/// `SSTORE(0, BLOCKHASH(1))`.
const STORE_BLOCKHASH_1: &str = "0x600140600055 00";
const CONTRACT: &str = "0x00000000000000000000000000000000000b10c4";

fn spec() -> ChainSpec {
    let text = format!(
        r#"
[chain]
name = "blockhash"
chain_id = 5
evm_spec = "prague"
base_fee = 1

[genesis]
timestamp = 1
coinbase = "0x0000000000000000000000000000000000000000"

[genesis.alloc]
"{funded}" = {{ balance = "1000000000000000000" }}
"{CONTRACT}" = {{ code = "{code}" }}
"#,
        funded = dev_address(0),
        code = STORE_BLOCKHASH_1.replace(' ', ""),
    );
    ChainSpec::parse(&text).unwrap()
}

fn call_contract(spec: &ChainSpec, nonce: u64) -> braid_chain::RawTransaction {
    sign_ethereum(
        spec,
        &dev_key(0),
        nonce,
        TxKind::Call(CONTRACT.parse().unwrap()),
        U256::ZERO,
        vec![],
        100_000,
        false,
    )
}

fn block(number: u64, transactions: Vec<braid_chain::RawTransaction>) -> Block {
    Block {
        number,
        timestamp: 1 + number,
        transactions,
    }
}

#[test]
fn a_header_read_failure_refuses_the_block_with_a_typed_error_and_changes_nothing() {
    let backend = Arc::new(HeaderReadsFail::default());
    let spec = spec();
    let mut chain = Chain::open(spec.clone(), backend.clone()).unwrap();
    chain.apply_block(&block(1, vec![])).unwrap();
    let root = chain.head().state_root;

    backend.fail.store(true, Ordering::SeqCst);
    let err = chain
        .apply_block(&block(2, vec![call_contract(&spec, 0)]))
        .unwrap_err();
    match &err {
        ChainError::Core(CoreError::BlockHash { number: 1, source }) => {
            assert!(source.to_string().contains("injected failure"), "{err}");
        }
        other => panic!("expected the BLOCKHASH error of block 1, got {other}"),
    }
    assert!(err.to_string().contains("block 1"), "{err}");
    assert_eq!(chain.head().number, 1);
    assert_eq!(chain.head().state_root, root);

    // The same block applies once the header reads again, and stores block 1's real hash.
    backend.fail.store(false, Ordering::SeqCst);
    chain
        .apply_block(&block(2, vec![call_contract(&spec, 0)]))
        .unwrap();
    let contract = Identity(CONTRACT.parse::<alloy_primitives::Address>().unwrap().0.0);
    let stored = chain
        .db()
        .get(
            EngineId::EVM,
            &contract,
            &braid_evm::layout::storage_key(&[0; 32]),
        )
        .unwrap()
        .expect("BLOCKHASH(1) stored");
    let expected = chain.header(1).unwrap().unwrap().hash();
    assert_eq!(stored, expected.to_vec());
}
