//! `braid`: the one binary. Applies a chain's bundled blocks, runs a chain as
//! a JSON-RPC node, queries keys with proofs, verifies proofs offline, and
//! runs Ethereum state tests.

mod files;
mod pvm_run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use braid_chain::{Block, Chain, ChainError, ChainSpec};
use braid_state::{
    Backend, EngineId, Identity, MemoryBackend, Proof, RocksDbBackend, StateError, StateKey,
    verify_proof,
};
use braid_statetest::{self as statetest, StateTestProgress};
use clap::{Parser, Subcommand};
use parity_scale_codec::{DecodeAll, Encode};

#[derive(Parser)]
#[command(
    name = "braid",
    version,
    about = "Braid: several contract engines over one state with one Merkle root"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initialise the database on first run and apply the chain's bundled blocks.
    Run {
        /// Chain directory: `chain.toml` and `blocks/*.json`.
        chain: PathBuf,
        /// RocksDB directory [default: <chain>/.braid-db].
        #[arg(long, conflicts_with = "memory")]
        db: Option<PathBuf>,
        /// Keep the state in memory (gives the same roots as RocksDB).
        #[arg(long)]
        memory: bool,
        /// The PVM backend, `interpreter` or `compiler` [default: the chain
        /// spec's `[pvm] backend`]. Every backend gives the same roots.
        #[arg(long, value_parser = parse_backend)]
        pvm_backend: Option<braid_pvm::Backend>,
    },
    /// Run the chain as a node: a transaction pool, block production and the
    /// Ethereum and Braid JSON-RPC over HTTP and WebSocket (one port).
    Node {
        /// Chain directory: `chain.toml` and optional `blocks/*.json`
        /// (applied first when above the head, as `braid run` does).
        chain: PathBuf,
        /// RocksDB directory [default: <chain>/.braid-db].
        #[arg(long)]
        db: Option<PathBuf>,
        /// HTTP and WebSocket address.
        #[arg(long, default_value = "127.0.0.1:8545")]
        http: std::net::SocketAddr,
        /// Produce a block every this many milliseconds (empty or not).
        #[arg(long, conflicts_with = "automine", value_parser = clap::value_parser!(u64).range(1..))]
        block_time: Option<u64>,
        /// Produce a block as soon as transactions are ready (the default).
        #[arg(long)]
        automine: bool,
    },
    /// Read one key of the committed state, optionally with its Merkle proof.
    Query {
        /// Chain directory.
        chain: PathBuf,
        /// Engine id: evm, pvm, wasm, system, or a number such as 0x10.
        #[arg(long)]
        engine: String,
        /// 20-byte identity, 0x-hex.
        #[arg(long)]
        identity: String,
        /// Engine key, 0x-hex.
        #[arg(long)]
        key: String,
        /// Also print the inclusion or exclusion proof.
        #[arg(long)]
        proof: bool,
        /// RocksDB directory [default: <chain>/.braid-db]; opened read-only,
        /// it must hold the chain already.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Check a proof against a root, offline.
    VerifyProof {
        /// State root, 0x-hex (32 bytes).
        #[arg(long)]
        root: String,
        /// Engine id: evm, pvm, wasm, system, or a number.
        #[arg(long)]
        engine: String,
        /// 20-byte identity, 0x-hex.
        #[arg(long)]
        identity: String,
        /// Engine key, 0x-hex.
        #[arg(long)]
        key: String,
        /// The claimed value, 0x-hex; omit to claim the key is absent.
        #[arg(long)]
        value: Option<String>,
        /// The proof, 0x-hex, as `braid query --proof` prints it.
        #[arg(long)]
        proof: String,
    },
    /// Run Ethereum state-test JSON files through the chain's Ethereum
    /// transaction path (decoder, validity rules, braid-evm) over the unified state.
    Statetest {
        /// Files or directories (searched recursively for *.json).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run Gray Paper PVM program vectors (JSON, w3f/jamtestvectors format)
    /// on a PVM backend; print each failure as a diff and `N passed, M failed`.
    PvmVectors {
        /// Files or directories (searched recursively for *.json).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `interpreter` (the reference) or `compiler`.
        #[arg(long, default_value = "interpreter", value_parser = parse_backend)]
        backend: braid_pvm::Backend,
    },
    /// Run a PVM program once: a JAM standard program (`.pvm`), a JAM
    /// service code blob (metadata, then a standard program) or a raw
    /// program blob. Prints the exit, gas used, output (a halt's `[r7, r7 +
    /// r8)`), registers, and the wall time of compiling and of running. A
    /// host call ends the run (nothing answers it here).
    PvmRun {
        /// The program file.
        program: PathBuf,
        /// Input bytes, 0x-hex (standard programs: mapped at the argument
        /// region, `r7`/`r8` point at it).
        #[arg(long, default_value = "")]
        input: String,
        /// Gas, PVM gas.
        #[arg(long, default_value_t = 1_000_000_000)]
        gas: i64,
        /// `interpreter` or `compiler` [default: the compiler where it runs].
        #[arg(long, value_parser = parse_backend)]
        backend: Option<braid_pvm::Backend>,
        /// The pc to start at (a block start).
        #[arg(long, default_value_t = 0)]
        entry: u32,
    },
    /// Benchmarks (`braid bench cross-engine ...`): runs the `braid-bench`
    /// binary found next to this one with the remaining arguments, as git
    /// and cargo run their external subcommands.
    #[command(disable_help_flag = true)]
    Bench {
        /// Arguments for `braid-bench` (`cross-engine --chart FILE ...`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// `0x` + the first 16 bytes of `bytes` in hex, `...` if there are more.
fn short_hex(bytes: &[u8]) -> String {
    let more = if bytes.len() > 16 { "..." } else { "" };
    format!("{}{more}", hex0x(&bytes[..bytes.len().min(16)]))
}

fn parse_hex(what: &str, text: &str) -> AnyResult<Vec<u8>> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| format!("{what} {text:?} is not hex: {e}").into())
}

fn parse_backend(text: &str) -> Result<braid_pvm::Backend, String> {
    let backend = braid_pvm::Backend::from_name(text).ok_or_else(|| {
        format!("{text:?} is not a PVM backend: expected interpreter or compiler")
    })?;
    if !backend.is_available() {
        return Err(format!(
            "the PVM {backend} is not available on this machine (it needs x86-64 Linux with POPCNT, LZCNT, BMI1 and BMI2)"
        ));
    }
    Ok(backend)
}

fn parse_engine(text: &str) -> AnyResult<EngineId> {
    Ok(match text {
        "system" => EngineId::SYSTEM,
        "evm" => EngineId::EVM,
        "pvm" => EngineId::PVM,
        "wasm" => EngineId::WASM,
        other => {
            let parsed = match other.strip_prefix("0x") {
                Some(hex) => u8::from_str_radix(hex, 16),
                None => other.parse(),
            };
            EngineId(parsed.map_err(|_| {
                format!("engine {other:?} is not evm, pvm, wasm, system or a number 0..255")
            })?)
        }
    })
}

fn parse_state_key(engine: &str, identity: &str, key: &str) -> AnyResult<StateKey> {
    let identity = Identity::from_slice(&parse_hex("identity", identity)?)
        .map_err(|e| format!("identity {identity:?}: {e}"))?;
    Ok(StateKey::new(
        parse_engine(engine)?,
        identity,
        parse_hex("key", key)?,
    ))
}

fn default_db(chain_dir: &Path) -> PathBuf {
    chain_dir.join(".braid-db")
}

/// Whether `dir` holds a database already (opened read-only, written to by
/// nothing). A store that cannot be read for another reason counts as one:
/// opening it for writing then reports why.
fn holds_database(dir: &Path) -> bool {
    !matches!(
        RocksDbBackend::open_read_only(dir),
        Err(StateError::NoDatabase { .. })
    )
}

fn run(command: Command) -> AnyResult<ExitCode> {
    match command {
        Command::Run {
            chain,
            db,
            memory,
            pvm_backend,
        } => {
            // The spec and every block file are checked before the database
            // is created or opened: bad input changes nothing.
            let mut spec = ChainSpec::load(&chain.join("chain.toml"))?;
            if let Some(backend) = pvm_backend {
                spec.pvm_backend = backend;
            }
            let blocks = Block::load_dir(&chain.join("blocks"))?;
            let backend: Arc<dyn Backend> = if memory {
                Arc::new(MemoryBackend::new())
            } else {
                let dir = db.unwrap_or_else(|| default_db(&chain));
                if !holds_database(&dir) {
                    // The first run writes genesis. It is built in memory
                    // first, so a genesis that cannot be written (a plugin
                    // that does not load, a module its engine refuses)
                    // creates no database either.
                    Chain::open(spec.clone(), Arc::new(MemoryBackend::new()))?;
                }
                Arc::new(RocksDbBackend::open(dir)?)
            };
            let mut chain = Chain::open(spec, backend)?;
            println!(
                "chain {} (id {}), head at block {}",
                chain.spec().name,
                chain.spec().chain_id,
                chain.head().number
            );
            println!("pvm backend {}", chain.spec().pvm_backend);
            println!(
                "{:>6}  {:>4}  {:>6}  {:>12}  state root",
                "height", "ok", "failed", "gas"
            );
            let mut applied = 0;
            let head = chain.head().number;
            for (_, block) in blocks.iter().filter(|(_, b)| b.number > head) {
                let report = chain.apply_block(block)?;
                let gas: u64 = report.header.gas_used;
                println!(
                    "{:>6}  {:>4}  {:>6}  {:>12}  {}",
                    report.header.number,
                    report.ok(),
                    report.failed(),
                    gas,
                    hex0x(&report.header.state_root)
                );
                let per_engine: Vec<String> = report
                    .gas_by_engine
                    .iter()
                    .map(|(e, g)| format!("engine {e}: {g}"))
                    .collect();
                println!("        native gas per engine: {}", per_engine.join(", "));
                applied += 1;
            }
            if applied == 0 {
                println!("nothing to apply: every bundled block is already in the database");
            }
            println!(
                "head {} root {}",
                chain.head().number,
                hex0x(&chain.head().state_root)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Node {
            chain,
            db,
            http,
            block_time,
            automine: _,
        } => {
            let mut config = braid_node::NodeConfig::new(chain.clone());
            if let Some(db) = db {
                config.storage = braid_node::Storage::RocksDb(db);
            }
            config.http = http;
            if let Some(ms) = block_time {
                config.mining = braid_node::Mining::Interval(std::time::Duration::from_millis(ms));
            }
            braid_node::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Query {
            chain,
            engine,
            identity,
            key,
            proof,
            db,
        } => {
            // Arguments first: a malformed one is reported as such, whatever
            // the database holds.
            let key = parse_state_key(&engine, &identity, &key)?;
            let db_dir = db.unwrap_or_else(|| default_db(&chain));
            // Read-only: a query creates and writes nothing, not even in a
            // directory that turns out to hold no database.
            let no_chain = || {
                format!(
                    "no database at {}: run `braid run {}` first",
                    db_dir.display(),
                    chain.display()
                )
            };
            let backend = match RocksDbBackend::open_read_only(&db_dir) {
                Ok(backend) => backend,
                Err(StateError::NoDatabase { .. }) => return Err(no_chain().into()),
                Err(e) => return Err(e.into()),
            };
            let spec = ChainSpec::load(&chain.join("chain.toml"))?;
            let chain = match Chain::open_existing(spec, Arc::new(backend)) {
                Ok(chain) => chain,
                Err(ChainError::NoChain) => return Err(no_chain().into()),
                Err(e) => return Err(e.into()),
            };
            let value = chain.db().get(key.engine, &key.identity, &key.engine_key)?;
            println!("root  {}", hex0x(&chain.db().root()));
            println!("key   {}", hex0x(&key.encode()));
            match &value {
                Some(v) => println!("value {}", hex0x(v)),
                None => println!("value absent"),
            }
            if proof {
                let proof = chain.db().prove(&key)?;
                verify_proof(&chain.db().root(), &key.encode(), value.as_deref(), &proof)?;
                println!("proof {}", hex0x(&proof.encode()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyProof {
            root,
            engine,
            identity,
            key,
            value,
            proof,
        } => {
            let root: [u8; 32] = parse_hex("root", &root)?
                .try_into()
                .map_err(|v: Vec<u8>| format!("root is {} bytes, expected 32", v.len()))?;
            let key = parse_state_key(&engine, &identity, &key)?;
            let value = value.map(|v| parse_hex("value", &v)).transpose()?;
            let proof_bytes = parse_hex("proof", &proof)?;
            // The whole argument is the proof: trailing bytes are refused.
            let proof = Proof::decode_all(&mut &proof_bytes[..]).map_err(|e| {
                format!(
                    "proof {} ({} bytes) does not decode: {e}",
                    short_hex(&proof_bytes),
                    proof_bytes.len()
                )
            })?;
            match verify_proof(&root, &key.encode(), value.as_deref(), &proof) {
                Ok(()) => {
                    let claim = if value.is_some() {
                        "present with that value"
                    } else {
                        "absent"
                    };
                    println!(
                        "valid: key {} is {claim} under root {}",
                        hex0x(&key.encode()),
                        hex0x(&root)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("invalid: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Statetest { paths } => {
            let files = files::json_files(&paths)?;
            let bar = indicatif::ProgressBar::new(files.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {msg}")
                    .map_err(|e| e.to_string())?,
            );
            let mut current: Option<PathBuf> = None;
            let mut on_case = |p: &StateTestProgress| {
                if current.as_ref() != Some(&p.file) {
                    if current.is_some() {
                        bar.inc(1);
                    }
                    current = Some(p.file.clone());
                }
                bar.set_message(format!(
                    "{} passed, {} failed",
                    p.passed_so_far, p.failed_so_far
                ));
            };
            let summary = statetest::run_paths(&files, &mut on_case);
            bar.finish_and_clear();
            for f in &summary.failures {
                println!(
                    "FAIL {} :: {} [{} #{}] {}: expected {} got {}",
                    f.file.display(),
                    f.test,
                    f.fork,
                    f.index,
                    f.kind,
                    f.expected,
                    f.got
                );
            }
            println!(
                "transactions: {} cases from txbytes ({} passed), {} from fields ({} passed)",
                summary.txbytes.cases(),
                summary.txbytes.passed,
                summary.fields.cases(),
                summary.fields.passed
            );
            println!("{} passed, {} failed", summary.passed, summary.failed);
            Ok(if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::PvmVectors { paths, backend } => {
            use braid_pvm::vectors::{diff, parse_vector, run_vector};
            let (mut passed, mut failed) = (0usize, 0usize);
            for file in files::json_files(&paths)? {
                let result = std::fs::read_to_string(&file)
                    .map_err(|e| e.to_string())
                    .and_then(|text| parse_vector(&text).map_err(|e| e.to_string()))
                    .and_then(|vector| {
                        let outcome = run_vector(&vector, backend).map_err(|e| e.to_string())?;
                        Ok(diff(&vector, &outcome))
                    });
                match result {
                    Ok(lines) if lines.is_empty() => passed += 1,
                    Ok(lines) => {
                        failed += 1;
                        println!("FAIL {}", file.display());
                        for line in lines {
                            println!("  {line}");
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        println!("FAIL {}: {e}", file.display());
                    }
                }
            }
            println!("{passed} passed, {failed} failed");
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::PvmRun {
            program,
            input,
            gas,
            backend,
            entry,
        } => pvm_run::run(
            &program,
            &parse_hex("input", &input)?,
            gas,
            backend.unwrap_or_else(braid_pvm::Backend::native_default),
            entry,
        ),
        Command::Bench { args } => bench(&args),
    }
}

/// Runs `braid-bench` (built by the `braid-benches` crate) from the folder of
/// the running `braid`, passing `args` through; its exit status is ours.
fn bench(args: &[std::ffi::OsString]) -> AnyResult<ExitCode> {
    let exe = std::env::current_exe()?;
    let tool = exe.with_file_name(format!("braid-bench{}", std::env::consts::EXE_SUFFIX));
    if !tool.is_file() {
        return Err(format!(
            "`braid bench` runs {}, which is not there: build it with \
             `cargo build --release --workspace` (crate braid-benches)",
            tool.display()
        )
        .into());
    }
    let status = std::process::Command::new(&tool)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", tool.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
