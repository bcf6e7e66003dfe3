//! The cross-engine read benchmark (RFC 0004): for every ordered pair of
//! engines, the cost of one cross-engine read against the reading engine's
//! native read of a value of the same size (32 bytes), warm and cold.
//!
//! Each engine reads through a real contract of Braid's:
//!
//! | reader | native read | cross-engine read |
//! | --- | --- | --- |
//! | EVM | `CrossReader.native`: `SLOAD` | `CrossReader.cross`: `STATICCALL` to the read precompile (`read(uint8,address,bytes)`) |
//! | PVM | `reader.pvm` mode 0: `storage_read` | mode 2: `evm_storage_read`; mode 1: `state_read` |
//! | WASM | `reader.wasm` mode 0: `storage_read` | mode 2: `evm_storage_read`; mode 1: `state_read` |
//!
//! Methodology, all in one process over one `StateDb` on RocksDB (in a
//! temporary directory), as a node runs:
//! - **warm**: one call reads the same key `n + 1` times, another reads it
//!   once; (t(n + 1) − t(1)) / n is the cost of one read once the key is in
//!   every cache (the state read cache, the EVM's warm slot).
//! - **cold**: a fresh `StateDb` over the same backend (empty read cache, so
//!   the first read goes to RocksDB) and a fresh transaction; t(1 read) −
//!   t(0 reads) is the cost of the first read of the key.
//!
//! Every call runs in a fresh `Kernel` over a `BlockState` that is dropped
//! (nothing is committed), and native and cross calls alternate, so a
//! neighbour's load on a shared machine hits both alike. Medians are
//! reported. Before timing, every cross-engine read is checked to return
//! exactly the bytes the owner engine reads natively.

use std::sync::Arc;
use std::time::{Duration, Instant};

use braid_core::{
    BlockEnv, EngineId, Engines, Identity, Message, NoBlockHashes, Outcome, module_identity,
    namespace,
};
use braid_evm::EvmEngine;
use braid_evm::layout::{self, GenesisAccount};
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, U256};
use braid_kernel::{BlockState, Kernel};
use braid_pvm::{Backend as PvmBackend, Config as PvmConfig, PvmEngine, PvmSpec};
use braid_state::{Backend, RocksDbBackend, StateDb, StateKey};

/// One engine of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The EVM (`0x01`).
    Evm,
    /// The PVM (`0x02`).
    Pvm,
    /// WASM (`0x03`).
    Wasm,
}

impl Side {
    /// The engine id.
    pub fn engine(self) -> EngineId {
        match self {
            Side::Evm => EngineId::EVM,
            Side::Pvm => EngineId::PVM,
            Side::Wasm => EngineId::WASM,
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Evm => "EVM",
            Side::Pvm => "PVM",
            Side::Wasm => "WASM",
        }
    }
}

/// Medians of one measurement, nanoseconds per read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cost {
    /// Native read of the reader's own key.
    pub native_ns: f64,
    /// Cross-engine read of the owner's key.
    pub cross_ns: f64,
}

impl Cost {
    /// cross / native.
    pub fn ratio(&self) -> f64 {
        self.cross_ns / self.native_ns
    }
}

/// One row of the table: reader → owner.
#[derive(Clone, Debug)]
pub struct PairResult {
    /// The engine that reads.
    pub reader: Side,
    /// The engine that owns the key.
    pub owner: Side,
    /// Key already in every cache.
    pub warm: Cost,
    /// First read after a fresh state handle.
    pub cold: Cost,
}

/// The contract-level workload's result (medians per transfer).
#[derive(Clone, Copy, Debug)]
pub struct TokenResult {
    /// Allowance held locally, ns per transfer.
    pub local_ns: f64,
    /// Allowance held by a PVM module, ns per transfer.
    pub remote_ns: f64,
    /// WASM gas of one local transfer.
    pub local_gas: u64,
    /// WASM gas of one remote transfer.
    pub remote_gas: u64,
}

impl TokenResult {
    /// remote / local.
    pub fn ratio(&self) -> f64 {
        self.remote_ns / self.local_ns
    }
}

/// Benchmark parameters.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Reads per warm call (`n`).
    pub warm_reads: u32,
    /// Repetitions of each measurement (medians are taken).
    pub repetitions: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            warm_reads: 1000,
            repetitions: 31,
        }
    }
}

const CHAIN_ID: u64 = 4242;
/// The 32-byte key every engine stores its value under (EVM: the slot).
const KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    k[31] = 7;
    k
};
const READER_CALLER: Identity = Identity([0xCA; 20]);

/// The value each engine stores (distinct per owner, 32 bytes).
fn value_of(side: Side) -> [u8; 32] {
    let mut v = [0u8; 32];
    for (i, b) in v.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(7).wrapping_add(side as u8 * 50 + 1);
    }
    v
}

/// The world: a state with each engine's reader contract deployed and its
/// value stored, and the engines.
pub struct World {
    backend: Arc<dyn Backend>,
    /// The RocksDB directory, removed when the world is dropped.
    _dir: tempfile::TempDir,
    engines: Engines,
    sides: Vec<Side>,
    evm_reader: Address,
    pvm_reader: Identity,
    /// The backend PVM contracts run on.
    pvm_backend: PvmBackend,
    wasm_reader: Option<Identity>,
    wasm_token: Option<Identity>,
    warm: std::sync::OnceLock<StateDb>,
    /// Where the EVM reader's cross calls go.
    evm_door: std::cell::Cell<EvmDoor>,
}

/// What the EVM reader's "cross" call reads through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EvmDoor {
    /// Braid's read precompile: the cross-engine read.
    BraidRead,
    /// The identity precompile (0x04) with the same call data: the floor of
    /// any precompile call.
    IdentityPrecompile,
    /// A `STATICCALL` to an EVM contract's getter (`CrossReader.load`): how
    /// the EVM reads another contract's value.
    Getter,
}

/// The WASM engine and Braid's WASM reader contract.
///
/// # Panics
/// If the engine cannot start or the contract is missing.
pub fn wasm_engine() -> Option<(Arc<dyn braid_core::Engine>, Vec<u8>)> {
    let engine = braid_wasm::WasmEngine::new().expect("the WASM engine starts");
    Some((
        Arc::new(engine),
        repo_file("engines/wasm/contracts/build/reader.wasm"),
    ))
}

fn repo_file(relative: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn runtime_code(artifact: &str) -> Vec<u8> {
    let json: serde_json::Value =
        serde_json::from_slice(&repo_file(artifact)).expect("artifact is JSON");
    let hex = json["deployedBytecode"].as_str().expect("deployedBytecode");
    hex::decode(hex.trim_start_matches("0x")).expect("hex bytecode")
}

impl World {
    /// Builds the world. `wasm` registers a WASM engine and its reader code
    /// (`None`: the WASM rows are skipped).
    ///
    /// # Panics
    /// If a contract artifact is missing or a setup step fails.
    pub fn new(wasm: Option<(Arc<dyn braid_core::Engine>, Vec<u8>)>) -> World {
        World::with_pvm_backend(wasm, PvmBackend::Interpreter)
    }

    /// As [`World::new`], the PVM contracts on `pvm_backend` (the
    /// interpreter or the x86-64 recompiler).
    ///
    /// # Panics
    /// As [`World::new`]; if this build cannot run `pvm_backend`.
    pub fn with_pvm_backend(
        wasm: Option<(Arc<dyn braid_core::Engine>, Vec<u8>)>,
        pvm_backend: PvmBackend,
    ) -> World {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let backend: Arc<dyn Backend> =
            Arc::new(RocksDbBackend::open(dir.path()).expect("RocksDB opens"));
        let mut db = StateDb::open(backend.clone()).expect("state");
        let mut engines = Engines::new();
        engines.register(Arc::new(EvmEngine::new(SpecId::PRAGUE)));
        let pvm = PvmConfig::new(PvmSpec::Gp0_7_2).with_backend(pvm_backend);
        engines.register(Arc::new(
            PvmEngine::with_config(pvm).expect("this build runs the PVM backend"),
        ));
        let mut sides = vec![Side::Evm, Side::Pvm];
        let evm_reader = Address::repeat_byte(0xE1);
        let pvm_reader = module_identity(CHAIN_ID, b"reader", 1);
        let wasm_reader = wasm
            .as_ref()
            .map(|_| module_identity(CHAIN_ID, b"reader", 1));
        // Genesis: the EVM reader with its slot, the PVM (and WASM) reader modules.
        let mut writes = layout::genesis_writes(
            evm_reader,
            &GenesisAccount {
                nonce: 1,
                code: runtime_code("chains/dev/contracts/CrossReader.json"),
                storage: vec![(
                    U256::from_be_bytes(KEY),
                    U256::from_be_bytes(value_of(Side::Evm)),
                )],
                ..GenesisAccount::default()
            },
        );
        let storage_key = |key: &[u8]| [&[namespace::STORAGE][..], key].concat();
        writes.push((
            StateKey::new(EngineId::PVM, pvm_reader, storage_key(&KEY)),
            Some(value_of(Side::Pvm).to_vec()),
        ));
        // The allowance the WASM token checks remotely: held by the PVM
        // reader module under "allow" ‖ caller.
        writes.push((
            StateKey::new(
                EngineId::PVM,
                pvm_reader,
                storage_key(&[&b"allow"[..], &READER_CALLER.0].concat()),
            ),
            Some(u64::MAX.to_le_bytes().to_vec()),
        ));
        if let (Some((engine, _)), Some(id)) = (&wasm, wasm_reader) {
            engines.register(engine.clone());
            sides.push(Side::Wasm);
            writes.push((
                StateKey::new(EngineId::WASM, id, storage_key(&KEY)),
                Some(value_of(Side::Wasm).to_vec()),
            ));
        }
        db.commit_block(writes, |_| Vec::new()).expect("genesis");
        // Deploy the modules through the kernel.
        let mut block = BlockState::new(&db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &engines, &NoBlockHashes, 0);
        kernel
            .deploy(
                EngineId::PVM,
                pvm_reader,
                &repo_file("engines/pvm/contracts/build/reader.pvm"),
            )
            .expect("deploy the PVM reader");
        let wasm_token = wasm_reader.map(|_| module_identity(CHAIN_ID, b"allowance-token", 1));
        if let (Some((_, code)), Some(id), Some(token)) = (&wasm, wasm_reader, wasm_token) {
            kernel
                .deploy(EngineId::WASM, id, code)
                .expect("deploy the WASM reader");
            kernel
                .deploy(
                    EngineId::WASM,
                    token,
                    &repo_file("engines/wasm/contracts/build/allowance_token.wasm"),
                )
                .expect("deploy the WASM token");
        }
        kernel.commit();
        // Mint to the caller and give it a local allowance.
        if let Some(token) = wasm_token {
            let init = [&[0u8][..], &(u64::MAX / 2).to_le_bytes()].concat();
            let allow = [&[3u8][..], &READER_CALLER.0, &u64::MAX.to_le_bytes()].concat();
            for input in [init, allow] {
                let mut kernel = Kernel::new(&mut block, &engines, &NoBlockHashes, 1 << 40);
                let result = kernel
                    .call(
                        EngineId::WASM,
                        Message {
                            caller: READER_CALLER,
                            target: token,
                            input,
                            value: [0; 32],
                            gas_limit: 1 << 40,
                        },
                    )
                    .expect("processed");
                assert!(
                    result.outcome.is_halt(),
                    "token setup: {:?}",
                    result.outcome
                );
                kernel.commit();
            }
        }
        db.commit_block(block.into_changes(), |_| Vec::new())
            .expect("deploy block");
        World {
            backend,
            _dir: dir,
            engines,
            sides,
            evm_reader,
            pvm_reader,
            pvm_backend,
            wasm_reader,
            wasm_token,
            warm: std::sync::OnceLock::new(),
            evm_door: std::cell::Cell::new(EvmDoor::BraidRead),
        }
    }

    /// The backend the PVM contracts run on.
    pub fn pvm_backend(&self) -> PvmBackend {
        self.pvm_backend
    }

    /// The engines measured.
    pub fn sides(&self) -> &[Side] {
        &self.sides
    }

    fn reader_identity(&self, side: Side) -> Identity {
        match side {
            Side::Evm => Identity(self.evm_reader.0.0),
            Side::Pvm => self.pvm_reader,
            Side::Wasm => self.wasm_reader.expect("WASM is measured"),
        }
    }

    /// The input that makes `reader` read `count` times: its own key
    /// (`owner == reader`) or `owner`'s.
    fn input(&self, reader: Side, owner: Side, count: u32) -> Vec<u8> {
        let owner_id = self.reader_identity(owner);
        match reader {
            Side::Evm => {
                use alloy_sol_types::{SolCall, sol};
                sol! {
                    function native(uint256 slot, uint256 count) external view returns (bytes32);
                    function cross(uint8 engine, address identity, bytes key, uint256 count) external view returns (bytes);
                    function floor(uint8 engine, address identity, bytes key, uint256 count) external view returns (bytes);
                    function getter(address other, uint256 slot, uint256 count) external view returns (bytes32);
                }
                match self.evm_door.get() {
                    EvmDoor::IdentityPrecompile if owner != Side::Evm => {
                        return floorCall {
                            engine: owner.engine().0,
                            identity: owner_id.0.into(),
                            key: KEY.to_vec().into(),
                            count: U256::from(count),
                        }
                        .abi_encode();
                    }
                    EvmDoor::Getter if owner != Side::Evm => {
                        return getterCall {
                            other: self.evm_reader,
                            slot: U256::from_be_bytes(KEY),
                            count: U256::from(count),
                        }
                        .abi_encode();
                    }
                    _ => {}
                }
                if owner == Side::Evm {
                    nativeCall {
                        slot: U256::from_be_bytes(KEY),
                        count: U256::from(count),
                    }
                    .abi_encode()
                } else {
                    crossCall {
                        engine: owner.engine().0,
                        identity: owner_id.0.into(),
                        key: KEY.to_vec().into(),
                        count: U256::from(count),
                    }
                    .abi_encode()
                }
            }
            Side::Pvm | Side::Wasm => {
                let mut input = Vec::new();
                let mode = match owner {
                    o if o == reader => 0u8,
                    Side::Evm => 2,
                    _ => 1,
                };
                input.push(mode);
                input.extend_from_slice(&count.to_le_bytes());
                match mode {
                    0 => input.extend_from_slice(&KEY),
                    2 => {
                        input.extend_from_slice(&owner_id.0);
                        input.extend_from_slice(&KEY);
                    }
                    _ => {
                        input.push(owner.engine().0);
                        input.extend_from_slice(&owner_id.0);
                        input.extend_from_slice(&KEY);
                    }
                }
                input
            }
        }
    }

    /// Runs one call on `db`; returns its wall time and output.
    fn call(&self, db: &StateDb, reader: Side, input: Vec<u8>) -> (Duration, Vec<u8>) {
        let mut block = BlockState::new(db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 1 << 40);
        let message = Message {
            caller: READER_CALLER,
            target: self.reader_identity(reader),
            input,
            value: [0; 32],
            gas_limit: 1 << 40,
        };
        let start = Instant::now();
        let result = kernel
            .call(reader.engine(), message)
            .expect("the call is processed");
        let elapsed = start.elapsed();
        match result.outcome {
            Outcome::Halt { output } => (elapsed, output),
            other => panic!("{} reader: {other:?}", reader.name()),
        }
    }

    /// The 32-byte value `reader` reads from `owner` (checked decoding of
    /// each contract's output).
    pub fn read_once(&self, reader: Side, owner: Side) -> Vec<u8> {
        let db = StateDb::open(self.backend.clone()).expect("state");
        let (_, output) = self.call(&db, reader, self.input(reader, owner, 1));
        match (reader, owner) {
            (Side::Evm, Side::Evm) => output,
            (Side::Evm, _) => {
                use alloy_sol_types::SolValue;
                // `bytes` wrapping the precompile's `(bool found, bytes value)`.
                use braid_evm::revm::primitives::Bytes;
                let raw = Bytes::abi_decode(&output).expect("bytes");
                let (found, value) =
                    <(bool, Bytes)>::abi_decode_params(&raw).expect("(bool, bytes)");
                assert!(found, "the key is present");
                value.to_vec()
            }
            _ => output,
        }
    }

    /// Checks every pair reads exactly what the owner stores.
    ///
    /// # Panics
    /// On any mismatch.
    pub fn check(&self) {
        for &reader in &self.sides {
            for &owner in &self.sides {
                assert_eq!(
                    self.read_once(reader, owner),
                    value_of(owner).to_vec(),
                    "{} reading {}",
                    reader.name(),
                    owner.name()
                );
            }
        }
    }

    /// Measures `reader` reading `owner`'s key (and its own, for the ratio).
    pub fn measure(&self, reader: Side, owner: Side, params: Params) -> PairResult {
        let db = StateDb::open(self.backend.clone()).expect("state");
        let n = params.warm_reads;
        let (mut wn, mut wc, mut cn, mut cc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let per_read = |long: Duration, short: Duration, n: u32| {
            (long.as_nanos() as f64 - short.as_nanos() as f64) / f64::from(n)
        };
        for _ in 0..params.repetitions {
            for own in [true, false] {
                let target = if own { reader } else { owner };
                // Warm: the long and the short call on the same handle.
                let long = self.call(&db, reader, self.input(reader, target, n + 1)).0;
                let short = self.call(&db, reader, self.input(reader, target, 1)).0;
                // Cold: fresh handles, one read against none.
                let fresh = StateDb::open(self.backend.clone()).expect("state");
                let one = self.call(&fresh, reader, self.input(reader, target, 1)).0;
                let fresh = StateDb::open(self.backend.clone()).expect("state");
                let none = self.call(&fresh, reader, self.input(reader, target, 0)).0;
                let (warm, cold) = if own {
                    (&mut wn, &mut cn)
                } else {
                    (&mut wc, &mut cc)
                };
                warm.push(per_read(long, short, n));
                cold.push(per_read(one, none, 1));
            }
        }
        PairResult {
            reader,
            owner,
            warm: Cost {
                native_ns: median(&mut wn),
                cross_ns: median(&mut wc),
            },
            cold: Cost {
                native_ns: median(&mut cn),
                cross_ns: median(&mut cc),
            },
        }
    }

    /// One call of `reader` reading `owner`'s key (its own when equal)
    /// `count` times on a warm state handle; its wall time.
    pub fn timed_call(&self, reader: Side, owner: Side, count: u32) -> Duration {
        let db = self
            .warm
            .get_or_init(|| StateDb::open(self.backend.clone()).expect("state"));
        self.call(db, reader, self.input(reader, owner, count)).0
    }

    /// The inputs of one `transfer_local` and one `transfer_remote` of 1
    /// unit to a fixed holder (the allowance read locally, or from the PVM
    /// reader module).
    fn token_inputs(&self) -> (Vec<u8>, Vec<u8>) {
        let to = [0x70u8; 20];
        let local = [&[1u8][..], &to, &1u64.to_le_bytes()].concat();
        let remote = [
            &[2u8][..],
            &to,
            &1u64.to_le_bytes(),
            &[EngineId::PVM.0],
            &self.pvm_reader.0,
        ]
        .concat();
        (local, remote)
    }

    /// The keys one `transfer_local` and one `transfer_remote` write, each
    /// run alone on the committed state: the two sides of the token workload
    /// must do the same writes (they differ only in where the allowance is
    /// read). `None` without the WASM engine.
    pub fn token_transfer_writes(&self) -> Option<(Vec<StateKey>, Vec<StateKey>)> {
        let token = self.wasm_token?;
        let db = StateDb::open(self.backend.clone()).expect("state");
        let (local, remote) = self.token_inputs();
        let writes = |input: Vec<u8>| {
            let mut block = BlockState::new(&db, BlockEnv::default());
            let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 1 << 40);
            let message = Message {
                caller: READER_CALLER,
                target: token,
                input,
                value: [0; 32],
                gas_limit: 1 << 40,
            };
            let result = kernel.call(EngineId::WASM, message).expect("processed");
            assert!(result.outcome.is_halt(), "transfer: {:?}", result.outcome);
            kernel.commit();
            block.into_changes().into_iter().map(|(k, _)| k).collect()
        };
        Some((writes(local), writes(remote)))
    }

    /// The contract-level workload: Braid's WASM `allowance_token` transfers
    /// 1 unit per transaction, checking the caller's allowance either in its
    /// own storage (`transfer_local`) or held by a PVM module and read with
    /// `state_read` (`transfer_remote`). Both do the same reads and writes
    /// but for that one allowance read (the token tracks what was spent in
    /// its own storage either way; [`World::token_transfer_writes`]). Each
    /// transfer is a fresh kernel committed into one block; the two kinds
    /// alternate. `None` without the WASM engine.
    pub fn token_workload(&self, transfers: usize) -> Option<TokenResult> {
        let token = self.wasm_token?;
        let db = StateDb::open(self.backend.clone()).expect("state");
        let mut block = BlockState::new(&db, BlockEnv::default());
        let (local, remote) = self.token_inputs();
        let mut transfer = |input: &[u8]| {
            let mut kernel = Kernel::new(&mut block, &self.engines, &NoBlockHashes, 1 << 40);
            let message = Message {
                caller: READER_CALLER,
                target: token,
                input: input.to_vec(),
                value: [0; 32],
                gas_limit: 1 << 40,
            };
            let start = Instant::now();
            let result = kernel.call(EngineId::WASM, message).expect("processed");
            kernel.commit();
            let elapsed = start.elapsed();
            assert!(result.outcome.is_halt(), "transfer: {:?}", result.outcome);
            (elapsed, result.gas_used)
        };
        let (mut tl, mut tr) = (Vec::new(), Vec::new());
        let (mut gas_local, mut gas_remote) = (0, 0);
        for _ in 0..transfers {
            let (t, g) = transfer(&local);
            tl.push(t.as_nanos() as f64);
            gas_local = g;
            let (t, g) = transfer(&remote);
            tr.push(t.as_nanos() as f64);
            gas_remote = g;
        }
        Some(TokenResult {
            local_ns: median(&mut tl),
            remote_ns: median(&mut tr),
            local_gas: gas_local,
            remote_gas: gas_remote,
        })
    }

    /// The floor of any precompile read by the EVM: the same `STATICCALL`,
    /// call data and loop as the EVM → PVM read, sent to the identity
    /// precompile (0x04), which only echoes its input. Warm, median ns per
    /// call.
    pub fn evm_precompile_floor(&self, params: Params) -> f64 {
        self.evm_door.set(EvmDoor::IdentityPrecompile);
        let row = self.measure(Side::Evm, Side::Pvm, params);
        self.evm_door.set(EvmDoor::BraidRead);
        row.warm.cross_ns
    }

    /// The EVM's own way to read another contract's 32-byte value: a
    /// `STATICCALL` to a getter (`CrossReader.load(slot)`, a `view` that
    /// `SLOAD`s; here the reader's own address, which an external call
    /// treats like any other warm contract). Warm, median ns per call.
    pub fn evm_getter_read(&self, params: Params) -> f64 {
        self.evm_door.set(EvmDoor::Getter);
        let db = StateDb::open(self.backend.clone()).expect("state");
        let (_, output) = self.call(&db, Side::Evm, self.input(Side::Evm, Side::Pvm, 1));
        assert_eq!(
            output,
            value_of(Side::Evm),
            "the getter reads the EVM value"
        );
        let row = self.measure(Side::Evm, Side::Pvm, params);
        self.evm_door.set(EvmDoor::BraidRead);
        row.warm.cross_ns
    }

    /// Every ordered pair of distinct engines.
    pub fn run(&self, params: Params) -> Vec<PairResult> {
        self.run_pairs(params, |_, _| true)
    }

    /// The ordered pairs with the PVM as reader or owner: the rows that
    /// change with the PVM backend.
    pub fn run_pvm_pairs(&self, params: Params) -> Vec<PairResult> {
        self.run_pairs(params, |reader, owner| {
            reader == Side::Pvm || owner == Side::Pvm
        })
    }

    fn run_pairs(&self, params: Params, keep: impl Fn(Side, Side) -> bool) -> Vec<PairResult> {
        let mut rows = Vec::new();
        for &reader in &self.sides {
            for &owner in &self.sides {
                if reader != owner && keep(reader, owner) {
                    rows.push(self.measure(reader, owner, params));
                }
            }
        }
        rows
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// The table as Markdown (ns per read and ratios).
pub fn markdown(rows: &[PairResult]) -> String {
    let mut out = String::from(
        "| reader → owner | warm native ns | warm cross ns | warm ratio | cold native ns | cold cross ns | cold ratio |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} → {} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |\n",
            r.reader.name(),
            r.owner.name(),
            r.warm.native_ns,
            r.warm.cross_ns,
            r.warm.ratio(),
            r.cold.native_ns,
            r.cold.cross_ns,
            r.cold.ratio(),
        ));
    }
    out
}

/// The contract-level workload as a Markdown table.
pub fn token_markdown(t: &TokenResult) -> String {
    format!(
        "| WASM token transfer, allowance held | ns per transfer | WASM gas |\n\
         | --- | ---: | ---: |\n\
         | locally (own `storage_read`) | {:.0} | {} |\n\
         | by a PVM module (`state_read`) | {:.0} | {} |\n\
         | remote / local | {:.3} | |\n",
        t.local_ns,
        t.local_gas,
        t.remote_ns,
        t.remote_gas,
        t.ratio()
    )
}

/// Draws the table as an SVG bar chart (ns per read, native and cross,
/// warm and cold, per pair) into `path`.
///
/// # Errors
/// If the file cannot be written.
pub fn chart(
    rows: &[PairResult],
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (1100, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = rows
        .iter()
        .flat_map(|r| {
            [
                r.warm.native_ns,
                r.warm.cross_ns,
                r.cold.native_ns,
                r.cold.cross_ns,
            ]
        })
        .fold(1.0f64, f64::max)
        * 1.15;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{}→{}", r.reader.name(), r.owner.name()))
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Braid: one 32-byte read, native vs cross-engine (ns, median)",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..rows.len() as f64, 0f64..max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("ns per read")
        .draw()?;
    let series = [
        ("warm native", 0usize, RGBColor(120, 170, 220)),
        ("warm cross", 1, RGBColor(30, 90, 170)),
        ("cold native", 2, RGBColor(240, 180, 120)),
        ("cold cross", 3, RGBColor(200, 90, 30)),
    ];
    for (name, k, color) in series {
        let bars = rows.iter().enumerate().map(move |(i, r)| {
            let v = [
                r.warm.native_ns,
                r.warm.cross_ns,
                r.cold.native_ns,
                r.cold.cross_ns,
            ][k];
            let x0 = i as f64 + 0.1 + 0.2 * k as f64;
            Rectangle::new([(x0, 0.0), (x0 + 0.18, v.max(0.0))], color.filled())
        });
        chart
            .draw_series(bars)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    // Pair names under each group of bars.
    let style = TextStyle::from(("sans-serif", 15).into_font()).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ),
    );
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(label.clone(), (x, y + 8), style.clone()))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}
