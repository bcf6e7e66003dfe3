//! [`EvmEngine`]: revm behind Braid's [`Engine`] seam.

use braid_core::{
    CallResult, CodeRejection, CoreError, Engine, EngineId, FaultCode, FaultReason, Host, Invoker,
    Message, Outcome, Result, ScopeKind,
};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::Cfg;
use revm::context_interface::result::{EVMError, ExecutionResult, HaltReason, ResultAndState};
use revm::interpreter::instructions::{GasTable, gas_table_spec};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, Log, TxKind, U256, eip4844};
use revm::{ExecuteCommitEvm, ExecuteEvm};

use crate::cache::BytecodeCache;
use crate::db::HostDatabaseError;
use crate::error::{EvmError, TxContext};
use crate::layout::{address, identity};
use crate::scratch;

/// The fault a revm halt reason becomes: [`FaultReason::OutOfGas`] for every
/// out-of-gas kind, [`FaultReason::Engine`] with an EVM [`FaultCode`]
/// otherwise. The match is exhaustive, so a new revm halt reason fails to
/// compile here.
pub fn halt_fault(reason: &HaltReason) -> FaultReason {
    use FaultCode::*;
    let code = match reason {
        HaltReason::OutOfGas(_) => return FaultReason::OutOfGas,
        HaltReason::OpcodeNotFound => EvmOpcodeNotFound,
        HaltReason::InvalidFEOpcode => EvmInvalidFeOpcode,
        HaltReason::InvalidJump => EvmInvalidJump,
        HaltReason::NotActivated => EvmNotActivated,
        HaltReason::StackUnderflow => EvmStackUnderflow,
        HaltReason::StackOverflow => EvmStackOverflow,
        HaltReason::OutOfOffset => EvmOutOfOffset,
        HaltReason::CreateCollision => EvmCreateCollision,
        HaltReason::PrecompileError | HaltReason::PrecompileErrorWithContext(_) => {
            EvmPrecompileError
        }
        HaltReason::NonceOverflow => EvmNonceOverflow,
        HaltReason::CreateContractSizeLimit => EvmCreateContractSizeLimit,
        HaltReason::CreateContractStartingWithEF => EvmCreateContractStartingWithEf,
        HaltReason::CreateInitCodeSizeLimit => EvmCreateInitcodeSizeLimit,
        HaltReason::OverflowPayment => EvmOverflowPayment,
        HaltReason::StateChangeDuringStaticCall => EvmStateChangeDuringStaticCall,
        HaltReason::CallNotAllowedInsideStatic => EvmCallNotAllowedInsideStatic,
        HaltReason::OutOfFunds => EvmOutOfFunds,
        HaltReason::CallTooDeep => EvmCallTooDeep,
    };
    FaultReason::Engine { code }
}

/// How a valid Ethereum transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvmExit {
    /// It succeeded (receipt status 1).
    Success,
    /// It ran `REVERT`; its state changes were rolled back except the
    /// sender's nonce and fee.
    Revert,
    /// It halted exceptionally (out of gas, invalid opcode, ...) and used its
    /// whole gas limit; state as for [`EvmExit::Revert`].
    Halt(HaltReason),
}

/// Whether [`EvmEngine::execute`] runs a transaction or simulates a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A block's transaction: every check, state and logs to the host.
    Transaction,
    /// `eth_call`'s rules, nothing written to the host.
    Simulation,
}

/// The receipt-like result of a valid Ethereum transaction
/// ([`EvmEngine::transact`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmTransactOutcome {
    /// Whether it succeeded (receipt status 1).
    pub success: bool,
    /// How it ended.
    pub exit: EvmExit,
    /// Gas used, after refunds and the EIP-7623 floor: what the sender paid
    /// for and what the block counts, in EVM gas.
    pub gas_used: u64,
    /// Logs, in emission order, as revm reports them (empty for a revert or
    /// a halt before Amsterdam).
    pub logs: Vec<Log>,
    /// Return data of the call, the deployed code of a create, or the revert data.
    pub output: Bytes,
    /// Address of the contract a successful create deployed.
    pub created_address: Option<Address>,
}

/// The EVM (revm) as a Braid engine: engine id `0x01`, mutator scope the
/// whole engine ([`ScopeKind::Engine`]), state layout in [`crate::layout`].
///
/// Holds the spec id, its opcode gas table and the [`BytecodeCache`]; no
/// state. Every call and transaction builds a revm EVM over a fresh
/// [`HostDatabase`](crate::HostDatabase); the EVM's state-independent buffers
/// (journal, call frames, memory) are reused across transactions through a
/// per-thread scratch, emptied before each use, so what one transaction sees
/// is only the host's state and analysed bytecode.
#[derive(Debug)]
pub struct EvmEngine {
    spec: SpecId,
    code: BytecodeCache,
    /// Static gas cost per opcode for `spec`.
    gas_table: GasTable,
}

impl EvmEngine {
    /// An engine running hard fork `spec` (any revm [`SpecId`]; Braid chains
    /// use `CANCUN`, `PRAGUE` or `OSAKA`), with an empty bytecode cache.
    pub fn new(spec: SpecId) -> Self {
        EvmEngine {
            spec,
            code: BytecodeCache::default(),
            gas_table: gas_table_spec(spec),
        }
    }

    /// The hard fork the engine runs.
    pub fn spec(&self) -> SpecId {
        self.spec
    }

    /// The analysed-bytecode cache.
    pub fn bytecode_cache(&self) -> &BytecodeCache {
        &self.code
    }

    /// revm's configuration for `chain_id`: this spec with mainnet gas
    /// parameters, and the per-transaction blob limit of the fork (6 for
    /// Cancun and from Osaka on (EIP-7594), 9 for Prague).
    pub fn cfg(&self, chain_id: u64) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(self.spec);
        cfg.chain_id = chain_id;
        let max_blobs = if self.spec == SpecId::PRAGUE { 9 } else { 6 };
        cfg.set_max_blobs_per_tx(max_blobs);
        cfg
    }

    /// revm's block environment for Braid's: `prevrandao` always set, the
    /// blob gas price derived from the excess blob gas (Cancun on) with the
    /// fork's update fraction.
    pub fn block_env(&self, env: &braid_core::BlockEnv) -> BlockEnv {
        let mut block = BlockEnv {
            number: U256::from(env.number),
            beneficiary: address(&env.coinbase),
            timestamp: U256::from(env.timestamp),
            gas_limit: env.gas_limit,
            basefee: env.base_fee,
            difficulty: U256::from_be_bytes(env.difficulty),
            prevrandao: Some(env.prevrandao.into()),
            blob_excess_gas_and_price: None,
            slot_num: 0,
        };
        if self.spec.is_enabled_in(SpecId::CANCUN)
            && let Some(excess) = env.excess_blob_gas
        {
            let fraction = if self.spec.is_enabled_in(SpecId::PRAGUE) {
                eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
            } else {
                eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
            };
            block.set_blob_excess_gas_and_price(excess, fraction);
        }
        block
    }

    /// Checks init code: at most the EIP-3860 limit (49,152 bytes) from Shanghai on.
    ///
    /// # Errors
    /// [`CoreError::InvalidCode`] carrying [`EvmError::InitcodeTooLarge`].
    pub fn validate_initcode(&self, initcode: &[u8]) -> Result<()> {
        let limit = self.cfg(1).max_initcode_size();
        if self.spec.is_enabled_in(SpecId::SHANGHAI) && initcode.len() > limit {
            return Err(invalid_code(
                initcode,
                EvmError::InitcodeTooLarge {
                    len: initcode.len(),
                    limit,
                },
            ));
        }
        Ok(())
    }

    /// Runs an Ethereum transaction with full Ethereum semantics: nonce check
    /// and increment, up-front fee check, fee to the coinbase (priority fee)
    /// and burn (base fee), blob fees, access lists, EIP-7702 authorizations.
    /// Chain id comes from [`Host::block`]; the sender is `tx.caller`,
    /// already recovered from the signature by the chain.
    ///
    /// For a VALID transaction (succeeded, reverted or halted) its state
    /// changes are written to the host with `State` semantics (see
    /// [`HostDatabase`](crate::HostDatabase)), its gas used is charged with [`Host::charge_gas`],
    /// its logs are emitted with [`Host::log`], and the receipt is returned.
    /// A reverted or halted transaction leaves only the sender's nonce and
    /// fee and the coinbase's fee: revm's journal already rolled back the rest.
    /// The caller must let the kernel commit the frame ([`Outcome::Halt`]);
    /// [`EvmEngine::invoke_transaction`] does that.
    ///
    /// # Errors
    /// An INVALID transaction returns an [`EvmError`] for which
    /// [`EvmError::is_invalid_transaction`] holds ([`EvmError::NonceMismatch`],
    /// [`EvmError::InsufficientBalance`], [`EvmError::GasLimitAboveBlock`],
    /// [`EvmError::GasLimitAboveBudget`] when `tx.gas_limit` exceeds
    /// [`Host::gas_left`], ...) and writes nothing. An unusable block
    /// environment is [`EvmError::InvalidBlock`]; host failures pass through.
    pub fn transact(&self, host: &mut dyn Host, tx: TxEnv) -> Result<EvmTransactOutcome> {
        self.execute(host, tx, Mode::Transaction)
    }

    /// Runs `tx` as Ethereum's `eth_call` does (geth's rules), for a call on
    /// a throw-away state: no nonce check (`tx.nonce` is only the CREATE
    /// address's), no EIP-3607 check of the sender, the block gas limit
    /// raised to `tx.gas_limit` if it is below, and with a zero gas price
    /// (no fee) the block's base fee taken as zero (geth's `NoBaseFee`: the
    /// call needs no balance but for its value, and `BASEFEE` reads 0). The
    /// sender's balance must still cover `gas × price + value`. Nothing is
    /// written to the host and no log is emitted; the logs are returned.
    ///
    /// # Errors
    /// As [`EvmEngine::transact`]: a call revm refuses (insufficient funds,
    /// intrinsic gas above the limit, ...) is an [`EvmError`] for which
    /// [`EvmError::is_invalid_transaction`] holds.
    pub fn simulate(&self, host: &mut dyn Host, tx: TxEnv) -> Result<EvmTransactOutcome> {
        self.execute(host, tx, Mode::Simulation)
    }

    fn execute(&self, host: &mut dyn Host, tx: TxEnv, mode: Mode) -> Result<EvmTransactOutcome> {
        let budget = host.gas_left();
        if tx.gas_limit > budget {
            return Err(EvmError::GasLimitAboveBudget {
                gas_limit: tx.gas_limit,
                budget,
            }
            .into());
        }
        let env = host.block().clone();
        let mut cfg = self.cfg(env.chain_id);
        let mut block = self.block_env(&env);
        if mode == Mode::Simulation {
            cfg.disable_nonce_check = true;
            cfg.disable_eip3607 = true;
            cfg.tx_gas_limit_cap = Some(u64::MAX);
            block.gas_limit = block.gas_limit.max(tx.gas_limit);
            if tx.gas_price == 0 && tx.gas_priority_fee.unwrap_or(0) == 0 {
                block.basefee = 0;
            }
        }
        let ctx = TxContext {
            caller: tx.caller,
            gas_limit: tx.gas_limit,
            max_fee: tx.gas_price,
            tx_chain_id: tx.chain_id,
            block_gas_limit: block.gas_limit,
            base_fee: block.basefee,
            chain_id: env.chain_id,
            input_len: tx.data.len(),
            max_initcode: cfg.max_initcode_size(),
        };
        let result =
            scratch::with_evm(
                host,
                &self.code,
                &self.gas_table,
                cfg,
                block,
                tx,
                |evm| match mode {
                    Mode::Transaction => evm.replay_commit(),
                    Mode::Simulation => evm.replay().map(|r| r.result),
                },
            )?;
        let result = result.map_err(|e| evm_error(e, &ctx))?;
        host.charge_gas(result.tx_gas_used())
            .map_err(|_| CoreError::Invariant {
                what: "EVM gas used exceeds the checked gas limit",
            })?;
        let created_address = result.created_address();
        let (exit, gas_used, logs, output) = match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => (
                EvmExit::Success,
                gas.tx_gas_used(),
                logs,
                output.into_data(),
            ),
            ExecutionResult::Revert { gas, logs, output } => {
                (EvmExit::Revert, gas.tx_gas_used(), logs, output)
            }
            ExecutionResult::Halt { reason, gas, logs } => {
                (EvmExit::Halt(reason), gas.tx_gas_used(), logs, Bytes::new())
            }
        };
        if mode == Mode::Transaction {
            for log in &logs {
                let topics = log.topics().iter().map(|t| t.0).collect();
                host.log(&identity(log.address), topics, log.data.data.to_vec())?;
            }
        }
        Ok(EvmTransactOutcome {
            success: exit == EvmExit::Success,
            exit,
            gas_used,
            logs,
            output,
            created_address,
        })
    }

    /// The kernel message of an Ethereum transaction: the sender as caller,
    /// the recipient (or the address a create deploys to) as target, gas
    /// limit `tx.gas_limit`, the value; the call data stays in `tx`.
    pub fn transaction_message(tx: &TxEnv) -> Message {
        let target = match tx.kind {
            TxKind::Call(to) => to,
            TxKind::Create => tx.caller.create(tx.nonce),
        };
        Message {
            caller: identity(tx.caller),
            target: identity(target),
            input: Vec::new(),
            value: tx.value.to_be_bytes::<32>(),
            gas_limit: tx.gas_limit,
        }
    }

    /// Runs `tx` as a root invocation of the kernel (`invoker`, engine
    /// `0x01`) with [`EvmEngine::transact`], returning [`Outcome::Halt`] for
    /// every valid transaction so the frame commits into the transaction
    /// (the kernel's commit ends it). The message is
    /// [`EvmEngine::transaction_message`].
    ///
    /// This engine must be the one registered as `0x01` in the kernel's
    /// engines.
    ///
    /// # Errors
    /// As [`EvmEngine::transact`], with nothing written for an invalid
    /// transaction; [`EvmError::Refused`] if the kernel refused the call.
    pub fn invoke_transaction(
        &self,
        invoker: &mut dyn Invoker,
        tx: TxEnv,
    ) -> Result<(CallResult, EvmTransactOutcome)> {
        self.invoke(invoker, tx, Mode::Transaction)
    }

    /// [`EvmEngine::invoke_transaction`] with [`EvmEngine::simulate`]'s
    /// rules: the base of `eth_call` and `eth_estimateGas` on a throw-away
    /// block state (the caller discards the kernel's effects).
    ///
    /// # Errors
    /// As [`EvmEngine::simulate`].
    pub fn invoke_simulation(
        &self,
        invoker: &mut dyn Invoker,
        tx: TxEnv,
    ) -> Result<(CallResult, EvmTransactOutcome)> {
        self.invoke(invoker, tx, Mode::Simulation)
    }

    fn invoke(
        &self,
        invoker: &mut dyn Invoker,
        tx: TxEnv,
        mode: Mode,
    ) -> Result<(CallResult, EvmTransactOutcome)> {
        let message = Self::transaction_message(&tx);
        let mut tx = Some(tx);
        let mut outcome = None;
        let result = invoker.invoke_dyn(EngineId::EVM, &message, &mut |host| {
            let tx = tx.take().ok_or(CoreError::Invariant {
                what: "the kernel ran one invocation twice",
            })?;
            let ran = self.execute(host, tx, mode)?;
            let output = ran.output.to_vec();
            outcome = Some(ran);
            Ok(Outcome::Halt { output })
        })?;
        match outcome {
            Some(outcome) => Ok((result, outcome)),
            None => match result.outcome {
                Outcome::Fault(reason) => Err(EvmError::Refused { reason }.into()),
                _ => Err(CoreError::Invariant {
                    what: "kernel refused an invocation without a fault",
                }),
            },
        }
    }

    /// The Braid call: `message` as an EVM message call with no fee.
    fn run_call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome> {
        let gas_limit = host.gas_left();
        let env = host.block().clone();
        let mut cfg = self.cfg(env.chain_id);
        cfg.disable_nonce_check = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let mut block = self.block_env(&env);
        block.basefee = 0;
        block.gas_limit = block.gas_limit.max(gas_limit);
        let caller = address(&message.caller);
        let tx = TxEnv {
            tx_type: 0,
            caller,
            gas_limit,
            gas_price: 0,
            kind: TxKind::Call(address(&message.target)),
            value: U256::from_be_bytes(message.value),
            data: Bytes::copy_from_slice(&message.input),
            chain_id: None,
            ..TxEnv::default()
        };
        let result = {
            let result =
                scratch::with_evm(host, &self.code, &self.gas_table, cfg, block, tx, |evm| {
                    match evm.replay() {
                        Ok(ResultAndState { result, mut state }) if result.is_success() => {
                            // Braid transactions carry their own nonces: undo revm's
                            // bump of the caller's EVM nonce.
                            if let Some(account) = state.get_mut(&caller) {
                                account.info.nonce = account.info.nonce.saturating_sub(1);
                            }
                            evm.commit(state);
                            Ok(result)
                        }
                        other => other.map(|r| r.result),
                    }
                })?;
            match result {
                Err(EVMError::Transaction(invalid)) => {
                    use revm::context_interface::result::InvalidTransaction as I;
                    let fault = match invalid {
                        I::CallGasCostMoreThanGasLimit { .. }
                        | I::GasFloorMoreThanGasLimit { .. } => {
                            let _ = host.charge_gas(gas_limit);
                            return Ok(Outcome::Fault(FaultReason::OutOfGas));
                        }
                        I::LackOfFundForMaxFee { .. } => FaultCode::EvmInsufficientBalance,
                        I::RejectCallerWithCode => FaultCode::EvmCallerHasCode,
                        _ => FaultCode::EvmInvalidCall,
                    };
                    return Ok(Outcome::Fault(FaultReason::Engine { code: fault }));
                }
                Err(other) => {
                    let ctx = TxContext {
                        caller,
                        gas_limit,
                        max_fee: 0,
                        tx_chain_id: None,
                        block_gas_limit: gas_limit,
                        base_fee: 0,
                        chain_id: env.chain_id,
                        // Not read: invalid transactions are handled above.
                        input_len: 0,
                        max_initcode: 0,
                    };
                    return Err(evm_error(other, &ctx));
                }
                Ok(result) => result,
            }
        };
        if host.charge_gas(result.tx_gas_used()).is_err() {
            return Ok(Outcome::Fault(FaultReason::OutOfGas));
        }
        Ok(match result {
            ExecutionResult::Success { logs, output, .. } => {
                for log in logs {
                    let topics = log.topics().iter().map(|t| t.0).collect();
                    host.log(&identity(log.address), topics, log.data.data.to_vec())?;
                }
                Outcome::Halt {
                    output: output.into_data().to_vec(),
                }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert {
                output: output.to_vec(),
            },
            ExecutionResult::Halt { reason, .. } => Outcome::Fault(halt_fault(&reason)),
        })
    }
}

impl Engine for EvmEngine {
    fn id(&self) -> EngineId {
        EngineId::EVM
    }

    fn name(&self) -> &'static str {
        "evm"
    }

    /// The EVM's scope is the whole engine prefix: revm's journal keeps
    /// Ethereum's per-frame revert semantics inside it (DESIGN.md rule 2).
    fn scope_kind(&self) -> ScopeKind {
        ScopeKind::Engine
    }

    /// Checks runtime code: at most the EIP-170 limit (24,576 bytes before
    /// Amsterdam), and from London on not starting with `0xEF` (EIP-3541)
    /// unless it is an EIP-7702 delegation (`0xEF0100 ‖ address`, Prague on).
    fn validate(&self, code: &[u8]) -> Result<()> {
        let limit = self.cfg(1).max_code_size();
        if code.len() > limit {
            return Err(invalid_code(
                code,
                EvmError::CodeTooLarge {
                    len: code.len(),
                    limit,
                },
            ));
        }
        let delegation =
            self.spec.is_enabled_in(SpecId::PRAGUE) && BytecodeCache::analyse(code).is_eip7702();
        if self.spec.is_enabled_in(SpecId::LONDON) && code.first() == Some(&0xEF) && !delegation {
            return Err(invalid_code(code, EvmError::CodeStartsWithEf));
        }
        Ok(())
    }

    /// A Braid call into the EVM: an EVM message call from `message.caller`
    /// (as an address) to `message.target` with `message.input` and
    /// `message.value`, gas limit [`Host::gas_left`]. Intrinsic gas (21,000
    /// plus calldata) is charged as for a transaction, but there is no gas
    /// price, no fee and no nonce check, and the caller's EVM nonce is left
    /// as it was (Braid transactions have their own nonces). The gas used is
    /// charged with [`Host::charge_gas`]; logs go to [`Host::log`].
    ///
    /// Success is [`Outcome::Halt`] with the return data, `REVERT` is
    /// [`Outcome::Revert`], an exceptional halt is [`Outcome::Fault`]
    /// ([`FaultReason::OutOfGas`] or an EVM [`FaultCode`]). A call refused by
    /// revm's validation faults too: out of gas if the gas left does not
    /// cover the intrinsic gas, [`FaultCode::EvmInsufficientBalance`] if the
    /// caller cannot pay the value, [`FaultCode::EvmCallerHasCode`],
    /// [`FaultCode::EvmInvalidCall`].
    fn call(&self, host: &mut dyn Host, message: &Message) -> Result<Outcome> {
        self.run_call(host, message)
    }
}

fn invalid_code(code: &[u8], reason: EvmError) -> CoreError {
    let kind = match reason {
        EvmError::CodeStartsWithEf => CodeRejection::Unsupported,
        _ => CodeRejection::TooLarge,
    };
    CoreError::invalid_code(EngineId::EVM, code, kind, reason)
}

/// revm's error as Braid's: host failures pass through, the rest become [`EvmError`]s.
fn evm_error(error: EVMError<HostDatabaseError>, ctx: &TxContext) -> CoreError {
    match error {
        EVMError::Database(HostDatabaseError(e)) => e,
        EVMError::Transaction(invalid) => EvmError::from_invalid(invalid, ctx).into(),
        EVMError::Header(header) => EvmError::InvalidBlock(header).into(),
        EVMError::Custom(message) => EvmError::Fatal { message }.into(),
        EVMError::CustomAny(any) => EvmError::Fatal {
            message: any.to_string(),
        }
        .into(),
    }
}
