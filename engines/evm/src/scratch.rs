//! revm's EVM over a [`HostDatabase`], built per transaction from
//! allocations that outlive it.
//!
//! A revm `Evm` owns its database, and a [`HostDatabase`] borrows the
//! kernel's `Host` for one invocation, so every transaction and Braid call
//! needs its own `Evm`. What makes one expensive is not the database but the
//! buffers around it: the journal's maps and vectors, the interpreter's
//! shared memory, and the call frames, each with a 32 KiB operand stack
//! (`build_mainnet` preallocates eight of them). None of these depend on the
//! state, so [`with_evm`] takes them from a per-thread [`Scratch`] and puts
//! them back afterwards, the way revm reuses them when one `Evm` runs many
//! transactions. The frames and the memory hold `Rc`s, which is why the
//! scratch lives in a thread-local and not in the (`Sync`) engine.
//!
//! Nothing a transaction sees leaks into the next: revm's `finalize`, run
//! by every `transact`, empties the journal (state, logs, transient storage,
//! entries, access list); [`with_evm`] clears it again and the memory too,
//! and revm reinitialises a frame in full before it runs one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use braid_core::{CoreError, Host};
use revm::context::journal::{JournalEntry, JournalInner};
use revm::context::{
    BlockEnv, Cfg, CfgEnv, Context, Evm, FrameStack, Journal, LocalContext, TxEnv,
};
use revm::handler::EthFrame;
use revm::handler::instructions::InstructionProvider;
use revm::interpreter::instructions::{GasTable, InstructionTable, instruction_table};
use revm::interpreter::interpreter::EthInterpreter;
use revm::state::TransactionId;

use crate::cache::BytecodeCache;
use crate::db::{HostDatabase, LoadedRecords};
use crate::precompiles::BraidPrecompiles;

/// revm's mainnet context over a [`HostDatabase`].
pub(crate) type HostContext<'h> = Context<BlockEnv, TxEnv, CfgEnv, HostDatabase<'h>>;

/// revm's mainnet EVM over a [`HostDatabase`].
pub(crate) type HostEvm<'h> =
    Evm<HostContext<'h>, (), Instructions<'h>, BraidPrecompiles, EthFrame<EthInterpreter>>;

/// revm's mainnet instruction table, a constant, with the gas table of the
/// engine's spec: what `EthInstructions` holds, without copying both into a
/// new 2.5 KiB box for every transaction.
pub(crate) struct Instructions<'h> {
    table: &'h InstructionTable<EthInterpreter, HostContext<'h>>,
    gas: &'h GasTable,
}

impl<'h> Instructions<'h> {
    fn new(gas: &'h GasTable) -> Self {
        Instructions {
            table: &const { instruction_table::<EthInterpreter, HostContext<'h>>() },
            gas,
        }
    }
}

impl<'h> InstructionProvider for Instructions<'h> {
    type Context = HostContext<'h>;
    type InterpreterTypes = EthInterpreter;

    fn instruction_table(&self) -> &InstructionTable<EthInterpreter, HostContext<'h>> {
        self.table
    }

    fn gas_table(&self) -> &GasTable {
        self.gas
    }
}

/// The state-independent allocations of one revm `Evm` and its database.
struct Scratch {
    /// The database's map of records read, empty.
    loaded: LoadedRecords,
    /// The journal, empty; its warm precompile set is that of `journal.cfg.spec`.
    journal: JournalInner<JournalEntry>,
    /// Call frames, built on first use of a call depth and kept.
    frames: FrameStack<EthFrame>,
    /// The interpreter's shared memory buffer (4 KiB to start with).
    memory: Rc<RefCell<Vec<u8>>>,
}

thread_local! {
    /// The scratch of the last EVM this thread recycled; `None` while an EVM
    /// built from it runs (a nested one then starts from fresh allocations).
    static SCRATCH: Cell<Option<Scratch>> = const { Cell::new(None) };
}

/// Runs `run` on a mainnet EVM (the spec of `cfg`, whose gas table is
/// `gas`) over a [`HostDatabase`] on `host`, set up to execute `tx` in
/// `block` (`ExecuteEvm::replay`), built from this thread's recycled
/// allocations if there are any, and recycles them afterwards.
///
/// # Errors
/// The first error the database's `DatabaseCommit::commit` hit.
pub(crate) fn with_evm<'h, R>(
    host: &'h mut dyn Host,
    code: &'h BytecodeCache,
    gas: &'h GasTable,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    run: impl FnOnce(&mut HostEvm<'h>) -> R,
) -> Result<R, CoreError> {
    let spec = cfg.spec;
    let Scratch {
        loaded,
        mut journal,
        frames,
        memory,
    } = SCRATCH.take().unwrap_or_else(|| Scratch {
        loaded: LoadedRecords::default(),
        journal: JournalInner::new(),
        frames: FrameStack::new(),
        memory: LocalContext::default().shared_memory_buffer,
    });
    if journal.cfg.spec != spec {
        // revm warms the precompiles only when the journal has none, so a
        // journal warmed for another fork is not reused.
        journal = JournalInner::new();
    }
    clear(&mut journal);
    memory.borrow_mut().clear();
    journal.set_spec_id(spec);
    journal.set_eip7708_config(
        cfg.is_eip7708_disabled(),
        cfg.is_eip8246_delayed_clear_disabled(),
    );
    let mut evm = Evm {
        ctx: Context {
            block,
            tx,
            cfg,
            journaled_state: Journal {
                database: HostDatabase::with_loaded(host, code, loaded),
                inner: journal,
            },
            chain: (),
            local: LocalContext {
                shared_memory_buffer: memory,
                precompile_error_message: None,
            },
            error: Ok(()),
        },
        inspector: (),
        instruction: Instructions::new(gas),
        precompiles: BraidPrecompiles::new(spec),
        frame_stack: frames,
    };
    let out = run(&mut evm);

    let (loaded, committed) = evm.ctx.journaled_state.database.finish();
    SCRATCH.set(Some(Scratch {
        loaded,
        journal: evm.ctx.journaled_state.inner,
        frames: evm.frame_stack,
        memory: evm.ctx.local.shared_memory_buffer,
    }));
    committed.map(|()| out)
}

/// Empties a journal, keeping its capacity, its configuration and its warm
/// precompile set. Every field is named, so a field added by a new revm
/// fails to compile here until it is handled.
fn clear(journal: &mut JournalInner<JournalEntry>) {
    let JournalInner {
        state,
        transient_storage,
        logs,
        depth,
        journal,
        transaction_id,
        cfg: _,
        warm_addresses,
        selfdestructed_addresses,
    } = journal;
    state.clear();
    transient_storage.clear();
    logs.clear();
    *depth = 0;
    journal.clear();
    *transaction_id = TransactionId::ZERO;
    warm_addresses.clear_coinbase_and_access_list();
    selfdestructed_addresses.clear();
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use braid_core::{BlockEnv, EngineId, Engines, Message, NoBlockHashes, Outcome};
    use braid_kernel::{BlockState, Kernel};
    use braid_state::{MemoryBackend, StateDb};
    use revm::primitives::Address;
    use revm::primitives::hardfork::SpecId;

    use crate::EvmEngine;
    use crate::layout::{self, GenesisAccount};

    /// Gas used by a Braid call, under `spec`, to a contract that runs
    /// `STATICCALL(gas, 0x0b, 0, 0, 0, 0)`: `0x0b` is a precompile (warm)
    /// from Prague on, an empty account (cold) before.
    fn staticcall_0x0b_gas(spec: SpecId) -> u64 {
        let contract = Address::repeat_byte(0xcc);
        let code = vec![
            0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x0b, 0x5a, 0xfa, 0x00,
        ];
        let account = GenesisAccount {
            code,
            ..GenesisAccount::default()
        };
        let mut db = StateDb::open(Arc::new(MemoryBackend::new())).unwrap();
        db.commit_block(layout::genesis_writes(contract, &account), |_| vec![])
            .unwrap();
        let mut engines = Engines::new();
        engines.register(Arc::new(EvmEngine::new(spec)));
        let mut block = BlockState::new(&db, BlockEnv::default());
        let mut kernel = Kernel::new(&mut block, &engines, &NoBlockHashes, 1_000_000);
        let message = Message {
            caller: layout::identity(Address::repeat_byte(0x11)),
            target: layout::identity(contract),
            input: Vec::new(),
            value: [0; 32],
            gas_limit: 1_000_000,
        };
        let result = kernel.call(EngineId::EVM, message).unwrap();
        assert!(
            matches!(result.outcome, Outcome::Halt { .. }),
            "{:?}",
            result.outcome
        );
        result.gas_used
    }

    #[test]
    fn a_journal_warmed_for_another_fork_is_not_reused() {
        // This thread's scratch, if any, never saw Cancun's precompiles.
        let fresh = std::thread::spawn(|| staticcall_0x0b_gas(SpecId::CANCUN))
            .join()
            .unwrap();
        let prague = staticcall_0x0b_gas(SpecId::PRAGUE);
        assert_eq!(staticcall_0x0b_gas(SpecId::CANCUN), fresh);
        assert_ne!(prague, fresh, "the fork must matter to this call");
        assert_eq!(staticcall_0x0b_gas(SpecId::PRAGUE), prague);
    }
}
