//! Fees and gas bounds of Braid transactions (RFC 0009).
//!
//! A Braid transaction is bounded and paid for the way an EIP-1559
//! transaction is, in Braid gas:
//!
//! - Its `gas_limit` counts against the block's gas budget
//!   ([`crate::ChainSpec::block_braid_gas_limit`]); one that does not fit in what
//!   the block has left is invalid.
//! - It costs [`intrinsic_gas`] before any call runs (21,000 plus 16 per byte
//!   of the signed transaction, as Ethereum prices a transaction and its
//!   calldata); a `gas_limit` below that is invalid.
//! - It pays `effective_gas_price = min(max_fee_per_gas, base_fee +
//!   max_priority_fee_per_gas)` per Braid gas ([`FeeTerms`]); a `max_fee_per_gas`
//!   below the base fee, or a priority fee above the max fee, is invalid.
//! - Upfront, its sender's EVM balance must cover `gas_limit ×
//!   max_fee_per_gas` plus the value of every call; then `gas_limit ×
//!   effective_gas_price` is debited. After the calls, whatever happened to
//!   them, the unused gas is refunded at the same price, the coinbase is
//!   credited `gas_used × priority_fee_per_gas`, and `gas_used × base_fee`
//!   is burned.
//!
//! The balance is the sender's EVM account balance (engine `0x01`, the
//! account record of [`braid_evm::layout`]): a Braid sender is an ordinary
//! EVM address (`keccak256(public_key)[12..32]`).

use alloy_primitives::U256;
use braid_core::{EngineId, Identity};
use braid_evm::layout::{ACCOUNT_RECORD_KEY, AccountRecord};
use braid_kernel::BlockState;
use revm::primitives::KECCAK_EMPTY;

use crate::{ChainError, Result, TxError};

/// Braid gas every Braid transaction costs before its calls run (as
/// Ethereum's 21,000 per transaction).
pub const BRAID_TX_BASE_GAS: u64 = 21_000;

/// Braid gas per byte of the SCALE-encoded signed transaction (as
/// Ethereum's 16 per non-zero calldata byte): a deploy pays for its code.
pub const BRAID_TX_GAS_PER_BYTE: u64 = 16;

/// The intrinsic gas of a signed Braid transaction `encoded_len` bytes long:
/// [`BRAID_TX_BASE_GAS`] + [`BRAID_TX_GAS_PER_BYTE`] × `encoded_len`
/// (saturating), in Braid gas.
pub fn intrinsic_gas(encoded_len: usize) -> u64 {
    let bytes = u64::try_from(encoded_len).unwrap_or(u64::MAX);
    BRAID_TX_BASE_GAS.saturating_add(BRAID_TX_GAS_PER_BYTE.saturating_mul(bytes))
}

/// The price a transaction pays per Braid gas in a block (EIP-1559).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeTerms {
    /// `min(max_fee_per_gas, base_fee + max_priority_fee_per_gas)`, wei per gas.
    pub effective_gas_price: u128,
    /// `effective_gas_price − base_fee`: what the coinbase receives per gas, wei.
    pub priority_fee_per_gas: u128,
}

impl FeeTerms {
    /// The terms of a transaction naming `max_fee_per_gas` and
    /// `max_priority_fee_per_gas` in a block with `base_fee` (wei per gas).
    ///
    /// # Errors
    /// [`TxError::PriorityFeeAboveMaxFee`], [`TxError::MaxFeeBelowBaseFee`].
    pub fn new(
        max_fee_per_gas: u128,
        max_priority_fee_per_gas: u128,
        base_fee: u64,
    ) -> Result<Self, TxError> {
        if max_priority_fee_per_gas > max_fee_per_gas {
            return Err(TxError::PriorityFeeAboveMaxFee {
                max_priority_fee_per_gas,
                max_fee_per_gas,
            });
        }
        let base_fee = u128::from(base_fee);
        if max_fee_per_gas < base_fee {
            return Err(TxError::MaxFeeBelowBaseFee {
                max_fee_per_gas,
                base_fee,
            });
        }
        let priority_fee_per_gas = max_priority_fee_per_gas.min(max_fee_per_gas - base_fee);
        Ok(FeeTerms {
            effective_gas_price: base_fee + priority_fee_per_gas,
            priority_fee_per_gas,
        })
    }
}

/// `gas × price` in wei.
pub fn cost(gas: u64, price: u128) -> U256 {
    U256::from(gas) * U256::from(price)
}

/// The EVM account record of `account` as the block stands, `None` if it has
/// none.
///
/// # Errors
/// State failures; a record that does not decode.
pub(crate) fn account(state: &BlockState<'_>, account: &Identity) -> Result<Option<AccountRecord>> {
    let Some(bytes) = state.get(EngineId::EVM, account, &ACCOUNT_RECORD_KEY)? else {
        return Ok(None);
    };
    AccountRecord::from_bytes(&bytes)
        .map(Some)
        .ok_or(ChainError::State(braid_state::StateError::Corrupt {
            what: "EVM account record",
            detail: format!("{} bytes at {account}", bytes.len()),
        }))
}

/// The EVM balance of `account`, in wei (zero without a record).
///
/// # Errors
/// As [`account`].
pub(crate) fn balance(state: &BlockState<'_>, who: &Identity) -> Result<U256> {
    Ok(account(state, who)?.map_or(U256::ZERO, |r| r.balance()))
}

/// Adds `amount` wei to `who`'s EVM balance (creating an empty-code account
/// if it has none; nothing for a zero amount).
///
/// # Errors
/// State failures; [`ChainError::BalanceOverflow`] past 2^256 − 1.
pub(crate) fn credit(state: &mut BlockState<'_>, who: &Identity, amount: U256) -> Result<()> {
    if amount.is_zero() {
        return Ok(());
    }
    let record = account(state, who)?.unwrap_or(AccountRecord::new(0, U256::ZERO, KECCAK_EMPTY));
    let balance = record
        .balance()
        .checked_add(amount)
        .ok_or(ChainError::BalanceOverflow { account: *who })?;
    write(
        state,
        who,
        AccountRecord::new(record.nonce, balance, record.code_hash()),
    )
}

/// Takes `amount` wei from `who`'s EVM balance; the caller checked it is there.
/// An account left empty (EIP-161: nonce 0, balance 0, no code) is deleted.
///
/// # Errors
/// State failures; [`ChainError::BalanceUnderflow`] if the balance is short
/// (a broken caller).
pub(crate) fn debit(state: &mut BlockState<'_>, who: &Identity, amount: U256) -> Result<()> {
    if amount.is_zero() {
        return Ok(());
    }
    let record = account(state, who)?.unwrap_or_default();
    let balance = record
        .balance()
        .checked_sub(amount)
        .ok_or(ChainError::BalanceUnderflow { account: *who })?;
    write(
        state,
        who,
        AccountRecord::new(record.nonce, balance, record.code_hash()),
    )
}

fn write(state: &mut BlockState<'_>, who: &Identity, record: AccountRecord) -> Result<()> {
    let key = braid_core::StateKey::new(EngineId::EVM, *who, ACCOUNT_RECORD_KEY);
    let value = (!record.is_empty()).then(|| record.to_bytes().to_vec());
    Ok(state.set(key, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_price_is_capped_by_the_max_fee() {
        let terms = FeeTerms::new(100, 30, 80).unwrap();
        assert_eq!(terms.effective_gas_price, 100);
        assert_eq!(terms.priority_fee_per_gas, 20);
        let terms = FeeTerms::new(200, 30, 80).unwrap();
        assert_eq!(terms.effective_gas_price, 110);
        assert_eq!(terms.priority_fee_per_gas, 30);
    }

    #[test]
    fn a_max_fee_below_the_base_fee_or_under_the_tip_is_refused() {
        assert!(matches!(
            FeeTerms::new(79, 0, 80),
            Err(TxError::MaxFeeBelowBaseFee {
                max_fee_per_gas: 79,
                base_fee: 80
            })
        ));
        assert!(matches!(
            FeeTerms::new(100, 101, 0),
            Err(TxError::PriorityFeeAboveMaxFee { .. })
        ));
    }

    #[test]
    fn intrinsic_gas_counts_every_byte() {
        assert_eq!(intrinsic_gas(0), 21_000);
        assert_eq!(intrinsic_gas(100), 22_600);
        assert_eq!(intrinsic_gas(usize::MAX), u64::MAX);
    }
}
