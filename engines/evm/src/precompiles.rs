//! [`BraidPrecompiles`]: the Ethereum precompiles of the spec, plus Braid's
//! cross-engine read precompile (RFC 0004, RFC 0006 "Braid read precompile").

use std::sync::OnceLock;

use braid_core::Host;
use braid_precompiles::read::{self, ReadError};
use revm::context::{ContextError, LocalContextTr};
use revm::context_interface::JournalTr;
use revm::handler::{EthPrecompiles, PrecompileProvider, precompile_output_to_interpreter_result};
use revm::interpreter::{CallInputs, Gas, InstructionResult, InterpreterResult};
use revm::precompile::{PrecompileHalt, PrecompileOutput, PrecompileSpecId};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, AddressSet, Bytes};

use crate::db::HostDatabaseError;
use crate::scratch::HostContext;

/// The read precompile's address, `0x00000000000000000000000000000000000B4A1D`
/// ([`braid_precompiles::read::ADDRESS`]).
pub const READ_PRECOMPILE: Address = Address::new(read::ADDRESS);

/// The precompiles of the EVM engine: revm's [`EthPrecompiles`] for the spec,
/// unchanged, and the Braid read precompile at [`READ_PRECOMPILE`], which
/// reads committed state through the [`Host`] under the context's
/// [`HostDatabase`](crate::HostDatabase).
///
/// Its address is in [`PrecompileProvider::warm_addresses`], so revm warms it
/// with the other precompiles (EIP-2929) and a `CALL` to it costs the warm
/// access price.
#[derive(Debug, Clone)]
pub struct BraidPrecompiles {
    eth: EthPrecompiles,
    /// The Ethereum precompile addresses of `eth.spec` and [`READ_PRECOMPILE`].
    warm: &'static AddressSet,
}

impl BraidPrecompiles {
    /// The precompiles of hard fork `spec`.
    pub fn new(spec: SpecId) -> Self {
        let eth = EthPrecompiles::new(spec);
        let warm = warm_set(spec, &eth);
        BraidPrecompiles { eth, warm }
    }
}

/// The Ethereum precompile addresses of `eth` plus [`READ_PRECOMPILE`], built
/// once per precompile spec (as revm builds its `Precompiles`).
fn warm_set(spec: SpecId, eth: &EthPrecompiles) -> &'static AddressSet {
    static SETS: [OnceLock<AddressSet>; PrecompileSpecId::NEXT as usize + 1] =
        [const { OnceLock::new() }; PrecompileSpecId::NEXT as usize + 1];
    SETS[PrecompileSpecId::from_spec_id(spec) as usize].get_or_init(|| {
        let mut set = eth.warm_addresses().clone();
        set.insert(READ_PRECOMPILE);
        set
    })
}

impl<'h> PrecompileProvider<HostContext<'h>> for BraidPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        let changed =
            <EthPrecompiles as PrecompileProvider<HostContext<'h>>>::set_spec(&mut self.eth, spec);
        if changed {
            self.warm = warm_set(spec, &self.eth);
        }
        changed
    }

    #[inline]
    fn run(
        &mut self,
        context: &mut HostContext<'h>,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        if inputs.bytecode_address != READ_PRECOMPILE {
            return <EthPrecompiles as PrecompileProvider<HostContext<'h>>>::run(
                &mut self.eth,
                context,
                inputs,
            );
        }
        Ok(Some(run_read(context, inputs)))
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.warm
    }

    fn contains(&self, address: &Address) -> bool {
        *address == READ_PRECOMPILE || self.eth.contains(address)
    }
}

/// Runs the read precompile. A bad input or too little gas is a precompile
/// halt (the call fails and consumes its gas); a host failure is stored as
/// the context's database error, which revm returns from the transaction as
/// `EVMError::Database` as soon as the frame result reaches its caller, and
/// the call ends with [`InstructionResult::FatalExternalError`] meanwhile.
#[cold]
#[inline(never)]
fn run_read(context: &mut HostContext<'_>, inputs: &CallInputs) -> InterpreterResult {
    let result = {
        // Disjoint fields: the input may live in the shared memory of `local`,
        // the host is under the journal's database.
        let input = inputs.input.as_bytes_local(&context.local);
        let host: &mut dyn Host = context.journaled_state.database.host();
        read::call(&input, inputs.gas_limit, |engine, identity, key| {
            host.read_state(engine, identity, key)
        })
    };
    let halt = match result {
        Ok(out) => {
            return precompile_output_to_interpreter_result(
                PrecompileOutput::new(out.gas_used, Bytes::from(out.output), inputs.reservoir),
                inputs.gas_limit,
            );
        }
        Err(ReadError::OutOfGas { .. }) => PrecompileHalt::OutOfGas,
        Err(ReadError::State(e)) => {
            context.error = Err(ContextError::Db(HostDatabaseError(e)));
            let mut gas = Gas::new(inputs.gas_limit);
            gas.spend_all();
            return InterpreterResult::new(
                InstructionResult::FatalExternalError,
                Bytes::new(),
                gas,
            );
        }
        Err(e) => PrecompileHalt::other(e.to_string()),
    };
    // As revm's own precompiles: a transaction straight to the precompile
    // reports why it failed (not for out of gas).
    if !halt.is_oog() && context.journaled_state.depth() == 1 {
        context.local.set_precompile_error_context(halt.to_string());
    }
    precompile_output_to_interpreter_result(
        PrecompileOutput::halt(halt, inputs.reservoir),
        inputs.gas_limit,
    )
}
