//! revm's EVM over a [`HostDatabase`], built per transaction from
//! allocations that outlive it.
//!
//! A revm `Evm` owns its database, and a [`HostDatabase`] borrows the
//! kernel's `Host` for one invocation, so every transaction and Braid call
//! needs its own `Evm`. What makes one expensive is not the database but the
//! buffers around it: the journal's maps and vectors, the interpreter's
//! shared memory, and the call frames, each with a 32 KiB operand stack
//! (`build_mainnet` preallocates eight of them). None of these depend on the
//! state, so [`build`] takes them from a per-thread [`Scratch`] and
//! [`recycle`] puts them back, the way revm reuses them when one `Evm` runs
//! many transactions. The frames and the memory hold `Rc`s, which is why the
//! scratch lives in a thread-local and not in the (`Sync`) engine.
//!
//! Nothing a transaction sees leaks into the next: revm's `finalize`, run
//! by every `transact`, empties the journal (state, logs, transient storage,
//! entries, access list); [`build`] clears it again and the memory too, and
//! revm reinitialises a frame in full before it runs one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use revm::context::journal::{JournalEntry, JournalInner};
use revm::context::{
    BlockEnv, Cfg, CfgEnv, Context, Evm, FrameStack, Journal, LocalContext, TxEnv,
};
use revm::context_interface::JournalTr;
use revm::handler::instructions::InstructionProvider;
use revm::handler::{EthFrame, EthPrecompiles};
use revm::interpreter::instructions::{GasTable, InstructionTable, instruction_table};
use revm::interpreter::interpreter::EthInterpreter;
use revm::state::TransactionId;

use crate::db::HostDatabase;

/// revm's mainnet context over a [`HostDatabase`].
pub(crate) type HostContext<'h> = Context<BlockEnv, TxEnv, CfgEnv, HostDatabase<'h>>;

/// revm's mainnet EVM over a [`HostDatabase`].
pub(crate) type HostEvm<'h> =
    Evm<HostContext<'h>, (), Instructions<'h>, EthPrecompiles, EthFrame<EthInterpreter>>;

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

/// The state-independent allocations of one revm `Evm`.
struct Scratch {
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

/// A mainnet EVM (the spec of `cfg`, whose gas table `gas` is) over `db`,
/// ready to run `tx` in `block` with `ExecuteEvm::replay`, made from this
/// thread's recycled allocations if there are any. Give it back with
/// [`recycle`]; dropping it instead only costs the reuse.
pub(crate) fn build<'h>(
    db: HostDatabase<'h>,
    gas: &'h GasTable,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
) -> HostEvm<'h> {
    let spec = cfg.spec;
    let (mut journal, frames, memory) = match SCRATCH.take() {
        Some(scratch) => (scratch.journal, scratch.frames, scratch.memory),
        None => (
            JournalInner::new(),
            FrameStack::new(),
            LocalContext::default().shared_memory_buffer,
        ),
    };
    if journal.cfg.spec != spec {
        // revm warms the precompiles only when the journal has none, so a
        // journal warmed for another fork is not reused.
        journal = JournalInner::new();
    }
    clear(&mut journal);
    memory.borrow_mut().clear();
    let mut journaled_state = Journal::new_with_inner(db, journal);
    journaled_state.set_spec_id(spec);
    journaled_state.set_eip7708_config(
        cfg.is_eip7708_disabled(),
        cfg.is_eip8246_delayed_clear_disabled(),
    );
    Evm {
        ctx: Context {
            block,
            tx,
            cfg,
            journaled_state,
            chain: (),
            local: LocalContext {
                shared_memory_buffer: memory,
                precompile_error_message: None,
            },
            error: Ok(()),
        },
        inspector: (),
        instruction: Instructions::new(gas),
        precompiles: EthPrecompiles::new(spec),
        frame_stack: frames,
    }
}

/// Keeps the allocations of `evm` for this thread's next [`build`] and
/// returns its database.
pub(crate) fn recycle(evm: HostEvm<'_>) -> HostDatabase<'_> {
    let Evm {
        ctx, frame_stack, ..
    } = evm;
    let Journal { database, inner } = ctx.journaled_state;
    SCRATCH.set(Some(Scratch {
        journal: inner,
        frames: frame_stack,
        memory: ctx.local.shared_memory_buffer,
    }));
    database
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
