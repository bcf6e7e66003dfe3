//! Checks at submission (`eth_sendRawTransaction`, `braid_sendTransaction`),
//! against the committed head: what geth's transaction pool checks, with
//! geth's error messages so that viem and ethers recognise them
//! (`rfcs/0012-node.md`, "Transaction pool").
//!
//! Ethereum: size, decoding and signature, the chain's validity rules
//! (`EthereumTransaction::validate`: type active, chain id, fee caps, blob
//! and set-code rules), gas limit within the block's, intrinsic gas (revm's
//! table, EIP-7623 floor included), max fee at least the base fee, sender
//! without code (EIP-3607, EIP-7702 delegations allowed), nonce not below the
//! state's, balance for `gas_limit × max_fee + value`.
//!
//! Braid: the same questions under RFC 0009's rules (`ChainReader::check_braid`),
//! against the Braid nonce and the sender's EVM balance.

use alloy_consensus::Transaction;
use alloy_eips::Typed2718;
use alloy_primitives::{Address, U256};
use braid_chain::tx::{EthereumTransaction, SignedBraidTransaction};
use braid_chain::{ChainError, ChainReader, RawTransaction, Snapshot, TxError};
use revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx;

use crate::pool::{NonceSpace, PoolError, PooledTx};

/// Largest transaction accepted, bytes (geth's `txMaxSize`, 128 KiB).
pub const MAX_TX_BYTES: usize = 128 * 1024;

/// Why a submitted transaction was refused. The messages are geth's (its
/// `core/txpool` and `core` errors), followed by the values involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// Larger than [`MAX_TX_BYTES`].
    #[error("oversized data: transaction is {size} bytes, limit {limit}")]
    Oversized {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that do not decode, or a signature that does not verify.
    #[error("invalid transaction: {0}")]
    Invalid(#[source] TxError),
    /// A chain id other than the chain's.
    #[error("invalid chain id for signer: have {got} want {expected}")]
    WrongChainId {
        /// The chain's.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The signature does not verify or recover.
    #[error("invalid sender: {message}")]
    BadSignature {
        /// What failed.
        message: String,
    },
    /// The gas limit does not fit in a block.
    #[error("exceeds block gas limit: gas limit {gas_limit} (Braid gas), block gas limit {block}")]
    GasLimit {
        /// The transaction's, Braid gas.
        gas_limit: u64,
        /// The block's, Braid gas.
        block: u64,
    },
    /// The gas limit is below the intrinsic gas.
    #[error("intrinsic gas too low: gas {gas_limit}, minimum needed {intrinsic}")]
    IntrinsicGas {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// Its intrinsic gas.
        intrinsic: u64,
    },
    /// `max_fee_per_gas` below the base fee.
    #[error(
        "max fee per gas less than block base fee: address {sender}, maxFeePerGas: {max_fee_per_gas}, baseFee: {base_fee}"
    )]
    FeeBelowBaseFee {
        /// The sender.
        sender: Address,
        /// Its fee cap, wei.
        max_fee_per_gas: u128,
        /// The base fee, wei.
        base_fee: u64,
    },
    /// The sender is a contract (EIP-3607).
    #[error("sender not an eoa: address {sender}, codehash: {code_hash}")]
    SenderNotEoa {
        /// The sender.
        sender: Address,
        /// Its code hash.
        code_hash: alloy_primitives::B256,
    },
    /// The nonce is below the state's.
    #[error("nonce too low: address {sender}, tx: {nonce} state: {state}")]
    NonceTooLow {
        /// The sender.
        sender: Address,
        /// The transaction's nonce.
        nonce: u64,
        /// The state's.
        state: u64,
    },
    /// The balance does not cover the most the transaction can cost.
    #[error(
        "insufficient funds for gas * price + value: address {sender} have {balance} want {cost}"
    )]
    InsufficientFunds {
        /// The sender.
        sender: Address,
        /// Its balance, wei.
        balance: U256,
        /// `gas_limit × max_fee + value`, wei.
        cost: U256,
    },
    /// Refused by the pool.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The node could not read its state.
    #[error("internal error: {0}")]
    Internal(#[from] ChainError),
}

impl From<TxError> for SubmitError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::WrongChainId { expected, got } => SubmitError::WrongChainId { expected, got },
            TxError::BadSignature { message } => SubmitError::BadSignature { message },
            TxError::NoChainId { expected } => SubmitError::WrongChainId { expected, got: 0 },
            TxError::IntrinsicGasAboveLimit {
                gas_limit,
                intrinsic,
            } => SubmitError::IntrinsicGas {
                gas_limit,
                intrinsic,
            },
            other => SubmitError::Invalid(other),
        }
    }
}

/// A transaction that passed the checks, and its sender's state nonce.
pub struct Checked {
    /// What goes into the pool.
    pub tx: PooledTx,
    /// The sender's nonce in the committed state.
    pub state_nonce: u64,
}

/// Checks `raw` against the head pinned by `snapshot`.
///
/// # Errors
/// [`SubmitError`] naming the rule and the values.
pub fn check(
    reader: &ChainReader,
    snapshot: &Snapshot<'_>,
    raw: RawTransaction,
) -> Result<Checked, SubmitError> {
    let size = raw.bytes().len();
    if size > MAX_TX_BYTES {
        return Err(SubmitError::Oversized {
            size,
            limit: MAX_TX_BYTES,
        });
    }
    match raw {
        RawTransaction::Ethereum(ref bytes) => {
            let tx = EthereumTransaction::decode(bytes)?;
            check_ethereum(reader, snapshot, tx, raw)
        }
        RawTransaction::Braid(ref bytes) => {
            let tx = SignedBraidTransaction::decode(bytes)?;
            check_braid(reader, snapshot, tx, raw)
        }
    }
}

fn check_ethereum(
    reader: &ChainReader,
    snapshot: &Snapshot<'_>,
    tx: EthereumTransaction,
    raw: RawTransaction,
) -> Result<Checked, SubmitError> {
    let spec = reader.spec();
    tx.validate(&reader.ethereum_rules())?;
    let block = spec.block_braid_gas_limit();
    let gas_limit = spec
        .gas_rates
        .checked_to_braid(braid_core::EngineId::EVM, tx.gas_limit())
        .unwrap_or(u64::MAX);
    if gas_limit > block {
        return Err(SubmitError::GasLimit { gas_limit, block });
    }
    let initial = calculate_initial_tx_gas_for_tx(tx.tx_env(), spec.evm_spec.spec_id(), None);
    let intrinsic =
        (initial.initial_regular_gas + initial.initial_state_gas).max(initial.floor_gas);
    if tx.gas_limit() < intrinsic {
        return Err(SubmitError::IntrinsicGas {
            gas_limit: tx.gas_limit(),
            intrinsic,
        });
    }
    let envelope = &tx.envelope;
    if envelope.max_fee_per_gas() < u128::from(spec.base_fee) {
        return Err(SubmitError::FeeBelowBaseFee {
            sender: tx.sender,
            max_fee_per_gas: envelope.max_fee_per_gas(),
            base_fee: spec.base_fee,
        });
    }
    let account = snapshot.account(tx.sender)?.unwrap_or_default();
    let code_hash = account.code_hash();
    if code_hash != revm::primitives::KECCAK_EMPTY && account.code_hash != [0; 32] {
        let code = snapshot.code(tx.sender)?;
        if !code.starts_with(&[0xef, 0x01, 0x00]) {
            return Err(SubmitError::SenderNotEoa {
                sender: tx.sender,
                code_hash,
            });
        }
    }
    if envelope.nonce() < account.nonce {
        return Err(SubmitError::NonceTooLow {
            sender: tx.sender,
            nonce: envelope.nonce(),
            state: account.nonce,
        });
    }
    let blob_cost = U256::from(envelope.blob_gas_used().unwrap_or(0))
        * U256::from(envelope.max_fee_per_blob_gas().unwrap_or(0));
    let cost = U256::from(tx.gas_limit()) * U256::from(envelope.max_fee_per_gas())
        + envelope.value()
        + blob_cost;
    let balance = account.balance();
    if balance < cost {
        return Err(SubmitError::InsufficientFunds {
            sender: tx.sender,
            balance,
            cost,
        });
    }
    let tip = envelope
        .max_priority_fee_per_gas()
        .unwrap_or(envelope.max_fee_per_gas());
    Ok(Checked {
        tx: PooledTx {
            hash: tx.hash(),
            raw,
            sender: tx.sender,
            space: NonceSpace::Ethereum,
            nonce: envelope.nonce(),
            gas_limit,
            max_fee_per_gas: envelope.max_fee_per_gas(),
            max_priority_fee_per_gas: tip,
            max_cost: cost,
        },
        state_nonce: account.nonce,
    })
    .inspect(|c| tracing::trace!(ty = envelope.ty(), nonce = c.tx.nonce, "checked"))
}

fn check_braid(
    reader: &ChainReader,
    snapshot: &Snapshot<'_>,
    signed: SignedBraidTransaction,
    raw: RawTransaction,
) -> Result<Checked, SubmitError> {
    let spec = reader.spec();
    let sender_id = reader.check_braid(&signed, raw.bytes().len())?;
    let sender = Address::from(sender_id.0);
    let tx = &signed.transaction;
    let block = spec.block_braid_gas_limit();
    if tx.gas_limit > block {
        return Err(SubmitError::GasLimit {
            gas_limit: tx.gas_limit,
            block,
        });
    }
    let state = snapshot.braid_nonce(&sender_id)?;
    if tx.nonce < state {
        return Err(SubmitError::NonceTooLow {
            sender,
            nonce: tx.nonce,
            state,
        });
    }
    let cost = braid_chain::fee::cost(tx.gas_limit, tx.max_fee_per_gas)
        .saturating_add(braid_chain::tx::braid_value(tx));
    let balance = snapshot.balance(sender)?;
    if balance < cost {
        return Err(SubmitError::InsufficientFunds {
            sender,
            balance,
            cost,
        });
    }
    Ok(Checked {
        tx: PooledTx {
            hash: raw.hash(),
            sender,
            space: NonceSpace::Braid,
            nonce: tx.nonce,
            gas_limit: tx.gas_limit,
            max_fee_per_gas: tx.max_fee_per_gas,
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas,
            max_cost: cost,
            raw,
        },
        state_nonce: state,
    })
}
