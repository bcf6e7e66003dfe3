//! [`EvmError`]: why the EVM engine could not process a call or a transaction.

use braid_core::{CoreError, EngineFailure, EngineId, FaultReason};
use revm::context_interface::result::{InvalidHeader, InvalidTransaction};
use revm::primitives::{Address, B256, U256};

/// Errors of the EVM engine. Reverts and exceptional halts are outcomes, not
/// errors; these mean the call or transaction could not be processed at all.
///
/// The `Invalid…` family ([`EvmError::is_invalid_transaction`]) is what an
/// Ethereum client would call an invalid transaction: it cannot be included
/// in a block, and nothing it touched was written. Converts into
/// [`CoreError::Engine`] with engine `0x01` and kind
/// [`EngineFailure::InvalidTransaction`] for that family
/// ([`EngineFailure::Internal`] otherwise); get it back with
/// [`EvmError::from_core`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    /// The transaction nonce is not the sender's account nonce.
    #[error(
        "invalid transaction: sender {address} has nonce {expected}, transaction has nonce {got}"
    )]
    NonceMismatch {
        /// The sender.
        address: Address,
        /// The sender's nonce in state.
        expected: u64,
        /// The nonce the transaction carries.
        got: u64,
    },
    /// The sender cannot pay `gas_limit × max fee + value (+ blob fees)`.
    #[error(
        "invalid transaction: sender {address} has {balance} wei, the transaction needs up to {required} wei"
    )]
    InsufficientBalance {
        /// The sender.
        address: Address,
        /// The sender's balance, in wei.
        balance: U256,
        /// The most the transaction may cost, in wei.
        required: U256,
    },
    /// The transaction gas limit exceeds the block gas limit.
    #[error(
        "invalid transaction: gas limit {gas_limit} exceeds the block gas limit {block_gas_limit}"
    )]
    GasLimitAboveBlock {
        /// The transaction gas limit, in gas.
        gas_limit: u64,
        /// The block gas limit, in gas.
        block_gas_limit: u64,
    },
    /// The transaction gas limit exceeds the EIP-7825 cap (Osaka on).
    #[error(
        "invalid transaction: gas limit {gas_limit} exceeds the per-transaction cap {cap} (EIP-7825)"
    )]
    GasLimitAboveCap {
        /// The transaction gas limit, in gas.
        gas_limit: u64,
        /// The cap, in gas.
        cap: u64,
    },
    /// The transaction gas limit exceeds what the kernel gives the invocation
    /// (the Braid gas budget of the transaction, converted to EVM gas).
    #[error(
        "invalid transaction: gas limit {gas_limit} exceeds the invocation's gas budget {budget}"
    )]
    GasLimitAboveBudget {
        /// The transaction gas limit, in EVM gas.
        gas_limit: u64,
        /// The budget, in EVM gas.
        budget: u64,
    },
    /// The intrinsic gas (21,000 + calldata + access list + ...) exceeds the gas limit.
    #[error("invalid transaction: intrinsic gas {intrinsic} exceeds the gas limit {gas_limit}")]
    IntrinsicGasAboveLimit {
        /// Intrinsic gas, in gas.
        intrinsic: u64,
        /// The transaction gas limit, in gas.
        gas_limit: u64,
    },
    /// The EIP-7623 calldata floor exceeds the gas limit (Prague on).
    #[error(
        "invalid transaction: calldata floor gas {floor} exceeds the gas limit {gas_limit} (EIP-7623)"
    )]
    FloorGasAboveLimit {
        /// The floor, in gas.
        floor: u64,
        /// The transaction gas limit, in gas.
        gas_limit: u64,
    },
    /// The gas price (or max fee per gas) is below the block base fee (EIP-1559).
    #[error(
        "invalid transaction: max fee per gas {max_fee} wei is below the base fee {base_fee} wei"
    )]
    GasPriceBelowBaseFee {
        /// The transaction's gas price or max fee per gas, in wei.
        max_fee: u128,
        /// The block base fee, in wei.
        base_fee: u64,
    },
    /// The sender has code that is not an EIP-7702 delegation (EIP-3607).
    #[error("invalid transaction: sender {address} has code (EIP-3607)")]
    SenderHasCode {
        /// The sender.
        address: Address,
    },
    /// The transaction's chain id is not the chain's (EIP-155).
    #[error("invalid transaction: chain id {got:?}, the chain is {expected}")]
    ChainIdMismatch {
        /// The chain's id.
        expected: u64,
        /// The transaction's chain id.
        got: Option<u64>,
    },
    /// Any other reason revm gives for refusing a transaction.
    #[error("invalid transaction: {0}")]
    InvalidTransaction(InvalidTransaction),
    /// The block environment is unusable for the spec (missing `prevrandao`
    /// from Paris on, missing excess blob gas from Cancun on).
    #[error("invalid block environment: {0}")]
    InvalidBlock(InvalidHeader),
    /// Runtime code exceeds the EIP-170 limit (24,576 bytes before Amsterdam).
    #[error("code is {len} bytes, limit {limit} (EIP-170)")]
    CodeTooLarge {
        /// Code length, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
    /// Init code exceeds the EIP-3860 limit (49,152 bytes, Shanghai on): a
    /// create transaction's data (an invalid transaction) or code handed to
    /// [`crate::EvmEngine::validate_initcode`].
    #[error("init code is {len} bytes, limit {limit} (EIP-3860)")]
    InitcodeTooLarge {
        /// Init code length, in bytes.
        len: usize,
        /// Limit, in bytes.
        limit: usize,
    },
    /// Runtime code starts with `0xEF` and is not an EIP-7702 delegation (EIP-3541, London on).
    #[error("code starts with 0xEF (EIP-3541)")]
    CodeStartsWithEf,
    /// An account record in state does not decode.
    #[error("account record of {address} is {len} bytes and does not decode (expected 72)")]
    CorruptAccount {
        /// The account.
        address: Address,
        /// Length of the stored value, in bytes.
        len: usize,
    },
    /// An account names a code hash whose code is not in state.
    #[error("code with hash {code_hash} is missing from state")]
    MissingCode {
        /// The missing code's keccak-256 hash.
        code_hash: B256,
    },
    /// The kernel refused to start the invocation (call depth, reentrancy).
    #[error("the kernel refused the EVM invocation: {reason:?}")]
    Refused {
        /// The kernel's reason.
        reason: FaultReason,
    },
    /// revm stopped with a fatal error of its own (a fatal precompile error),
    /// carried as revm's message.
    #[error("revm failed: {message}")]
    Fatal {
        /// revm's message.
        message: String,
    },
}

impl EvmError {
    /// Whether this is an invalid transaction (wrong nonce, funds, gas limit, fees,
    /// chain id, sender with code or any other revm validation failure):
    /// it cannot be included in a block and changed nothing.
    pub fn is_invalid_transaction(&self) -> bool {
        matches!(
            self,
            EvmError::NonceMismatch { .. }
                | EvmError::InsufficientBalance { .. }
                | EvmError::GasLimitAboveBlock { .. }
                | EvmError::GasLimitAboveCap { .. }
                | EvmError::GasLimitAboveBudget { .. }
                | EvmError::IntrinsicGasAboveLimit { .. }
                | EvmError::FloorGasAboveLimit { .. }
                | EvmError::GasPriceBelowBaseFee { .. }
                | EvmError::SenderHasCode { .. }
                | EvmError::ChainIdMismatch { .. }
                | EvmError::InitcodeTooLarge { .. }
                | EvmError::InvalidTransaction(_)
        )
    }

    /// The [`EvmError`] inside a [`CoreError`] of engine `0x01`, if it
    /// carries one (as [`CoreError::Engine`] or [`CoreError::InvalidCode`]).
    /// A caller branches on the error's kind first
    /// ([`EngineFailure::InvalidTransaction`]); this gives back the values.
    pub fn from_core(error: &CoreError) -> Option<&EvmError> {
        match error {
            CoreError::Engine {
                engine: EngineId::EVM,
                source,
                ..
            } => source.downcast_ref(),
            CoreError::InvalidCode {
                engine: EngineId::EVM,
                reason,
                ..
            } => reason.downcast_ref(),
            _ => None,
        }
    }

    /// Maps revm's validation error, filling in the values it does not carry.
    pub(crate) fn from_invalid(error: InvalidTransaction, ctx: &TxContext) -> Self {
        match error {
            InvalidTransaction::NonceTooHigh { tx, state }
            | InvalidTransaction::NonceTooLow { tx, state } => EvmError::NonceMismatch {
                address: ctx.caller,
                expected: state,
                got: tx,
            },
            InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
                EvmError::InsufficientBalance {
                    address: ctx.caller,
                    balance: *balance,
                    required: *fee,
                }
            }
            InvalidTransaction::CallerGasLimitMoreThanBlock => EvmError::GasLimitAboveBlock {
                gas_limit: ctx.gas_limit,
                block_gas_limit: ctx.block_gas_limit,
            },
            InvalidTransaction::TxGasLimitGreaterThanCap { gas_limit, cap } => {
                EvmError::GasLimitAboveCap { gas_limit, cap }
            }
            InvalidTransaction::CallGasCostMoreThanGasLimit {
                initial_gas,
                gas_limit,
            } => EvmError::IntrinsicGasAboveLimit {
                intrinsic: initial_gas,
                gas_limit,
            },
            InvalidTransaction::GasFloorMoreThanGasLimit {
                gas_floor,
                gas_limit,
            } => EvmError::FloorGasAboveLimit {
                floor: gas_floor,
                gas_limit,
            },
            InvalidTransaction::GasPriceLessThanBasefee => EvmError::GasPriceBelowBaseFee {
                max_fee: ctx.max_fee,
                base_fee: ctx.base_fee,
            },
            InvalidTransaction::RejectCallerWithCode => EvmError::SenderHasCode {
                address: ctx.caller,
            },
            InvalidTransaction::InvalidChainId => EvmError::ChainIdMismatch {
                expected: ctx.chain_id,
                got: ctx.tx_chain_id,
            },
            InvalidTransaction::CreateInitCodeSizeLimit => EvmError::InitcodeTooLarge {
                len: ctx.input_len,
                limit: ctx.max_initcode,
            },
            other => EvmError::InvalidTransaction(other),
        }
    }
}

/// The transaction and block values an [`EvmError`] names.
pub(crate) struct TxContext {
    pub caller: Address,
    pub gas_limit: u64,
    pub max_fee: u128,
    pub tx_chain_id: Option<u64>,
    pub block_gas_limit: u64,
    pub base_fee: u64,
    pub chain_id: u64,
    /// The transaction's data, bytes (a create's init code).
    pub input_len: usize,
    /// The EIP-3860 init code limit, bytes.
    pub max_initcode: usize,
}

impl From<EvmError> for CoreError {
    fn from(error: EvmError) -> Self {
        let kind = if error.is_invalid_transaction() {
            EngineFailure::InvalidTransaction
        } else {
            EngineFailure::Internal
        };
        CoreError::engine(EngineId::EVM, kind, error)
    }
}
