//! The loader's own panic guard (`guard` in `src/host.rs`), exercised by a
//! real shared library (`plugins/testlibs/host-panic`) whose call drives a
//! host callback, under a host that panics inside that callback.
//!
//! Why a panicking host: the loader's callback code has no panic reachable
//! from any argument a plugin can pass (lengths are checked before they are
//! multiplied or sliced, a null pointer is a `HostMisuse`, and the one
//! `expect` splits an exact multiple of 32 bytes). What runs inside the
//! guard besides that code is the [`Host`] behind it: in a node, the
//! kernel, the state layer and the backend. A panic there (a kernel bug, a
//! backend that panics) is what the guard exists for: unwinding out of the
//! `extern "C"` callback would abort the process. So the test host wraps
//! the real kernel and asserts, as a buggy kernel would, when a callback
//! carries the plugin's marker arguments; it counts the panics it raised
//! (the fault was hit) and every host call that reached it afterwards.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use braid_core::{
    BlockEnv, CallResult, CoreError, Engine, EngineFailure, EngineId, Engines, Host, Identity,
    Message, NoBlockHashes, OutOfGas, Outcome, namespace,
};
use braid_kernel::{BlockState, Kernel};
use braid_plugin_abi::host;
use braid_plugin_loader::{PluginEngine, PluginError, load, sha256};
use braid_state::{MemoryBackend, StateDb};
use braid_testlib_host_panic::{
    AFTER_KEY, BEFORE_KEY, Callback, MARKER_ENGINE, MARKER_GAS, MARKER_IDENTITY, MARKER_KEY,
    MARKER_TOPIC,
};

const HOST_PANIC: EngineId = EngineId(0x12);
const INSTANCE: Identity = Identity([0x5A; 20]);
const SENDER: Identity = Identity([1; 20]);
const GAS: u64 = 1_000_000;

fn library() -> PathBuf {
    braid_plugin_loader::find_built_library("braid_testlib_host_panic").unwrap_or_else(|| {
        panic!(
            "libbraid_testlib_host_panic not found next to this test: build the workspace \
             first (`cargo test --release --workspace` builds every plugin library)"
        )
    })
}

/// A fresh [`PluginEngine`] over the library (usable, whatever earlier
/// tests did to other `PluginEngine`s of the same library).
fn plugin() -> Arc<PluginEngine> {
    let path = library();
    let digest = sha256(&std::fs::read(&path).unwrap());
    Arc::new(load(&path, &digest, HOST_PANIC).unwrap())
}

/// The plugin's own-scope key `k` as the loader stores it: `0x01 ‖ k`.
fn storage(key: &[u8]) -> Vec<u8> {
    let mut k = vec![namespace::STORAGE];
    k.extend_from_slice(key);
    k
}

fn message(callback: Callback) -> Message {
    Message {
        caller: SENDER,
        target: INSTANCE,
        input: vec![callback as u8],
        value: [0; 32],
        gas_limit: GAS,
    }
}

/// A database with the plugin deployed at [`INSTANCE`].
fn deployed(engines: &Engines) -> StateDb {
    let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
    let mut state = BlockState::new(&db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, engines, &NoBlockHashes, GAS);
    kernel.deploy(HOST_PANIC, INSTANCE, b"code").unwrap();
    kernel.commit();
    let changes = state.into_changes();
    db.commit_block(changes, |_| vec![]).unwrap();
    db
}

/// The real kernel, panicking (as a buggy kernel would) inside the host
/// function that backs `at` when it sees the plugin's marker arguments.
struct PanicAt<'h> {
    inner: &'h mut dyn Host,
    at: Callback,
    /// The plugin has written [`BEFORE_KEY`]: its chosen callback comes next
    /// (arms `gas_left`, which the loader also calls before the plugin runs).
    armed: Cell<bool>,
    /// Panics raised.
    panics: Cell<u32>,
    /// Callback-backed host calls that reached this host after a panic.
    after_panic: Cell<u32>,
}

impl<'h> PanicAt<'h> {
    fn new(inner: &'h mut dyn Host, at: Callback) -> Self {
        PanicAt {
            inner,
            at,
            armed: Cell::new(false),
            panics: Cell::new(0),
            after_panic: Cell::new(0),
        }
    }

    /// Called first by every host function a vtable callback reaches.
    fn enter(&self, callback: Callback, marked: bool) {
        if self.panics.get() > 0 {
            self.after_panic.set(self.after_panic.get() + 1);
        }
        if callback == self.at && marked {
            self.panics.set(self.panics.get() + 1);
            panic!("test host: {} was called with the marker", callback.name());
        }
    }
}

impl Host for PanicAt<'_> {
    fn engine(&self) -> EngineId {
        self.inner.engine()
    }
    fn self_identity(&self) -> Identity {
        self.inner.self_identity()
    }
    fn caller(&self) -> Identity {
        self.inner.caller()
    }
    fn block(&self) -> &BlockEnv {
        self.inner.block()
    }
    fn block_hash(&self, number: u64) -> braid_core::Result<Option<[u8; 32]>> {
        self.inner.block_hash(number)
    }
    fn get(&mut self, identity: &Identity, key: &[u8]) -> braid_core::Result<Option<Vec<u8>>> {
        self.inner.get(identity, key)
    }
    fn get_with(
        &mut self,
        identity: &Identity,
        key: &[u8],
        read: &mut dyn FnMut(Option<&[u8]>),
    ) -> braid_core::Result<()> {
        self.enter(Callback::StorageGet, key == storage(MARKER_KEY));
        self.inner.get_with(identity, key, read)
    }
    fn set(&mut self, identity: &Identity, key: &[u8], value: &[u8]) -> braid_core::Result<()> {
        if key == storage(BEFORE_KEY) {
            self.armed.set(true);
        }
        self.enter(Callback::StorageSet, key == storage(MARKER_KEY));
        self.inner.set(identity, key, value)
    }
    fn delete(&mut self, identity: &Identity, key: &[u8]) -> braid_core::Result<()> {
        self.enter(Callback::StorageDelete, key == storage(MARKER_KEY));
        self.inner.delete(identity, key)
    }
    fn delete_prefix(&mut self, identity: &Identity, prefix: &[u8]) -> braid_core::Result<()> {
        self.inner.delete_prefix(identity, prefix)
    }
    fn read_state(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        key: &[u8],
    ) -> braid_core::Result<Option<Vec<u8>>> {
        let marked =
            engine == EngineId(MARKER_ENGINE) && identity.0 == MARKER_IDENTITY && key == MARKER_KEY;
        self.enter(Callback::StateRead, marked);
        self.inner.read_state(engine, identity, key)
    }
    fn instance_code_hash(&mut self) -> braid_core::Result<Option<[u8; 32]>> {
        self.inner.instance_code_hash()
    }
    fn code(&mut self, code_hash: &[u8; 32]) -> braid_core::Result<Option<Vec<u8>>> {
        self.inner.code(code_hash)
    }
    fn store_code(&mut self, code: &[u8]) -> braid_core::Result<[u8; 32]> {
        self.inner.store_code(code)
    }
    fn charge_gas(&mut self, amount: u64) -> Result<(), OutOfGas> {
        self.enter(Callback::ChargeGas, amount == MARKER_GAS);
        self.inner.charge_gas(amount)
    }
    fn gas_left(&self) -> u64 {
        if self.armed.get() {
            self.enter(Callback::GasLeft, true);
        }
        self.inner.gas_left()
    }
    fn log(
        &mut self,
        identity: &Identity,
        topics: Vec<[u8; 32]>,
        data: Vec<u8>,
    ) -> braid_core::Result<()> {
        self.enter(
            Callback::Log,
            topics == [MARKER_TOPIC] && data == MARKER_KEY,
        );
        self.inner.log(identity, topics, data)
    }
    fn call(
        &mut self,
        target: Identity,
        input: Vec<u8>,
        value: [u8; 32],
        gas_limit: u64,
    ) -> braid_core::Result<CallResult> {
        self.inner.call(target, input, value, gas_limit)
    }
}

/// What one call through [`PanicAt`] did.
struct Run {
    result: braid_core::Result<CallResult>,
    panics: u32,
    after_panic: u32,
    /// Writes left in the block after the transaction was dropped.
    pending: usize,
}

/// Runs `callback` through the kernel as one transaction, the plugin seeing
/// [`PanicAt`] as its host; the transaction is dropped, as the chain does
/// when a call fails.
fn run(plugin: &Arc<PluginEngine>, engines: &Engines, db: &StateDb, callback: Callback) -> Run {
    let mut state = BlockState::new(db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, engines, &NoBlockHashes, GAS);
    let (mut panics, mut after_panic) = (0, 0);
    let msg = message(callback);
    let result = kernel
        .invoke(HOST_PANIC, &msg, |host| {
            let mut host = PanicAt::new(host, callback);
            let outcome = plugin.call(&mut host, &msg);
            (panics, after_panic) = (host.panics.get(), host.after_panic.get());
            outcome.map(|o| (o, ()))
        })
        .map(|(result, _)| result);
    drop(kernel);
    Run {
        result,
        panics,
        after_panic,
        pending: state.pending_len(),
    }
}

#[test]
fn a_panic_inside_every_host_callback_is_caught_by_the_loaders_guard() {
    let path = library();
    for callback in Callback::ALL {
        let plugin = plugin();
        let mut engines = Engines::new();
        engines.register(Arc::clone(&plugin) as Arc<dyn Engine>);
        let mut db = deployed(&engines);
        let root = db.root();

        let run = run(&plugin, &engines, &db, callback);
        let name = callback.name();
        assert_eq!(run.panics, 1, "{name}: the test host did not panic");
        let err = run.result.expect_err(name);
        let CoreError::Engine {
            engine,
            kind,
            source,
        } = &err
        else {
            panic!("{name}: expected an internal engine error, got {err:?}");
        };
        assert_eq!((*engine, *kind), (HOST_PANIC, EngineFailure::Internal));
        // Caught by the guard around the callback, which names it; the
        // outer catch around the plugin's `call` would say "call" (and a
        // panic unwinding out of the `extern "C"` callback would have
        // aborted this process instead).
        match source.downcast_ref::<PluginError>() {
            Some(PluginError::Panicked {
                path: in_error,
                during,
            }) => {
                assert_eq!(*during, name);
                assert_eq!(in_error, &path);
            }
            other => panic!("{name}: expected PluginError::Panicked, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains(name),
            "{text}"
        );
        // The guard stops the call: the plugin's `storage_set("after")` got
        // host::ERROR without reaching the host.
        assert_eq!(run.after_panic, 0, "{name}: a callback reached the host");
        assert!(!plugin.is_usable(), "{name}: still usable");
        // Nothing written: the kernel dropped the frame's "before" write,
        // and the committed state did not move.
        assert_eq!(run.pending, 0, "{name}: writes survived");
        assert_eq!(db.root(), root);
        // Unusable from now on.
        let err = run_plain(&plugin, &engines, &mut db, callback).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<PluginError>(),
                Some(PluginError::Unusable { .. })
            ),
            "{name}: {err:?}"
        );
    }
}

/// Runs `callback` on the real kernel (no panicking host) and commits.
fn run_plain(
    plugin: &Arc<PluginEngine>,
    engines: &Engines,
    db: &mut StateDb,
    callback: Callback,
) -> Result<(CallResult, usize), Box<dyn std::error::Error + Send + Sync>> {
    let mut state = BlockState::new(db, BlockEnv::default());
    let mut kernel = Kernel::new(&mut state, engines, &NoBlockHashes, GAS);
    let msg = message(callback);
    let result = kernel.invoke(HOST_PANIC, &msg, |host| {
        plugin.call(host, &msg).map(|o| (o, ()))
    });
    let result = match result {
        Ok((result, _)) => result,
        Err(CoreError::Engine { source, .. }) => return Err(source),
        Err(other) => return Err(Box::new(other)),
    };
    kernel.commit();
    let changes = state.into_changes();
    let written = changes.len();
    db.commit_block(changes, |_| vec![]).unwrap();
    Ok((result, written))
}

/// The same calls without the panic halt, write and report every status:
/// the plugin does reach each callback, and the process is fine after the
/// panics above (each test builds its own `PluginEngine`).
#[test]
fn without_the_panic_every_callback_completes_and_writes() {
    for callback in Callback::ALL {
        let plugin = plugin();
        let mut engines = Engines::new();
        engines.register(Arc::clone(&plugin) as Arc<dyn Engine>);
        let mut db = deployed(&engines);
        let root = db.root();
        let (result, written) = run_plain(&plugin, &engines, &mut db, callback).unwrap();
        let Outcome::Halt { output } = &result.outcome else {
            panic!("{}: {:?}", callback.name(), result.outcome);
        };
        let status = |i: usize| u32::from_le_bytes(output[4 * i..4 * i + 4].try_into().unwrap());
        let expected = match callback {
            Callback::StorageGet | Callback::StateRead => host::NOT_FOUND,
            _ => host::OK,
        };
        assert_eq!(
            (status(0), status(1), status(2)),
            (host::OK, expected, host::OK),
            "{}",
            callback.name()
        );
        let gas_left = u64::from_le_bytes(output[12..20].try_into().unwrap());
        assert_eq!(gas_left > 0, callback == Callback::GasLeft);
        // "before" and "after", and "boom" for storage_set and
        // storage_delete (a delete is a write).
        let own = match callback {
            Callback::StorageSet | Callback::StorageDelete => 3,
            _ => 2,
        };
        assert_eq!(written, own, "{}", callback.name());
        assert_ne!(db.root(), root);
        for key in [BEFORE_KEY, AFTER_KEY] {
            assert_eq!(
                db.get(HOST_PANIC, &INSTANCE, &storage(key)).unwrap(),
                Some(b"1".to_vec())
            );
        }
        assert!(plugin.is_usable());
    }
}
