//! Which `expectException` names an invalid transaction satisfies: the one
//! table from Braid's refusals (the chain's [`TxError`] kinds and, through
//! [`TxError::Evm`], revm's invalid-transaction reasons) to the names of
//! ethereum/execution-spec-tests (`TransactionException.*`), which the
//! filled state tests of ethereum/tests use too.
//!
//! A fixture may name several acceptable exceptions joined by `|`; a case
//! passes when Braid's refusal satisfies one of them. A refusal with no name
//! here (an undecodable transaction, a Braid-only rule) satisfies none.

use braid_chain::TxError;
use braid_evm::EvmError;
use revm::context_interface::result::InvalidTransaction;

/// `&'static [&'static str]` of `TransactionException.<name>` strings.
macro_rules! names {
    ($($name:ident),+ $(,)?) => {
        &[$(concat!("TransactionException.", stringify!($name))),+]
    };
}

/// The fixture names `error` satisfies, most specific first; empty when it
/// satisfies none.
///
/// Where one Braid refusal answers to two names, both are listed: a type
/// that is not active yet is `TYPE_3_TX_PRE_FORK` (or `TYPE_4_…`) and
/// `TYPE_NOT_SUPPORTED`; the EIP-7623 calldata floor is
/// `INTRINSIC_GAS_BELOW_FLOOR_GAS_COST` and, in fixtures filled before that
/// name existed (the Prague devnet-5 set), `INTRINSIC_GAS_TOO_LOW`; revm's
/// `OverflowPaymentInTransaction` (`gas_limit × max fee + value` does not
/// fit 256 bits) is `GASLIMIT_PRICE_PRODUCT_OVERFLOW` and, as other clients
/// report it, `INSUFFICIENT_ACCOUNT_FUNDS`.
pub fn fixture_names(error: &TxError) -> &'static [&'static str] {
    match error {
        TxError::UnsupportedType { .. } => names!(TYPE_NOT_SUPPORTED),
        TxError::TypeNotActive { tx_type: 3, .. } => names!(TYPE_3_TX_PRE_FORK, TYPE_NOT_SUPPORTED),
        TxError::TypeNotActive { tx_type: 4, .. } => names!(TYPE_4_TX_PRE_FORK, TYPE_NOT_SUPPORTED),
        TxError::TypeNotActive { .. } => names!(TYPE_NOT_SUPPORTED),
        TxError::ContractCreation { tx_type: 3 } => names!(TYPE_3_TX_CONTRACT_CREATION),
        TxError::ContractCreation { .. } => names!(TYPE_4_TX_CONTRACT_CREATION),
        TxError::BadSignature { .. } => names!(INVALID_SIGNATURE_VRS, EC_RECOVERY_FAIL),
        TxError::WrongChainId { .. } | TxError::NoChainId { .. } => names!(INVALID_CHAINID),
        TxError::PriorityFeeAboveMaxFee { .. } => names!(PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS),
        TxError::NoBlobHashes => names!(TYPE_3_TX_ZERO_BLOBS),
        TxError::BlobHashVersion { .. } => names!(TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH),
        TxError::TooManyBlobs { .. } => names!(TYPE_3_TX_BLOB_COUNT_EXCEEDED),
        TxError::BlobSidecar => names!(TYPE_3_TX_WITH_FULL_BLOBS),
        TxError::EmptyAuthorizationList => names!(TYPE_4_EMPTY_AUTHORIZATION_LIST),
        TxError::BlockGasExceeded { .. } => names!(GAS_ALLOWANCE_EXCEEDED),
        TxError::Evm(evm) => evm_names(evm),
        // `Decode` (the runner reports it as a transaction not built) and
        // the Braid-transaction kinds.
        _ => &[],
    }
}

/// [`fixture_names`] of a refusal by revm, through braid-evm's [`EvmError`].
fn evm_names(error: &EvmError) -> &'static [&'static str] {
    match error {
        EvmError::NonceMismatch { expected, got, .. } if got > expected => {
            names!(NONCE_MISMATCH_TOO_HIGH)
        }
        EvmError::NonceMismatch { .. } => names!(NONCE_MISMATCH_TOO_LOW),
        EvmError::InsufficientBalance { .. } => names!(INSUFFICIENT_ACCOUNT_FUNDS),
        EvmError::GasLimitAboveBlock { .. } => names!(GAS_ALLOWANCE_EXCEEDED),
        EvmError::GasLimitAboveCap { .. } => names!(GAS_LIMIT_EXCEEDS_MAXIMUM),
        EvmError::IntrinsicGasAboveLimit { .. } => names!(INTRINSIC_GAS_TOO_LOW),
        EvmError::FloorGasAboveLimit { .. } => {
            names!(INTRINSIC_GAS_BELOW_FLOOR_GAS_COST, INTRINSIC_GAS_TOO_LOW)
        }
        EvmError::GasPriceBelowBaseFee { .. } => names!(INSUFFICIENT_MAX_FEE_PER_GAS),
        EvmError::SenderHasCode { .. } => names!(SENDER_NOT_EOA),
        EvmError::ChainIdMismatch { .. } => names!(INVALID_CHAINID),
        EvmError::InitcodeTooLarge { .. } => names!(INITCODE_SIZE_EXCEEDED),
        EvmError::InvalidTransaction(invalid) => revm_names(invalid),
        // `GasLimitAboveBudget` is Braid's (the kernel's budget), and the
        // rest are not invalid transactions.
        _ => &[],
    }
}

/// [`fixture_names`] of the revm reasons braid-evm passes through unchanged.
fn revm_names(invalid: &InvalidTransaction) -> &'static [&'static str] {
    use InvalidTransaction as I;
    match invalid {
        I::PriorityFeeGreaterThanMaxFee => names!(PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS),
        I::OverflowPaymentInTransaction => {
            names!(GASLIMIT_PRICE_PRODUCT_OVERFLOW, INSUFFICIENT_ACCOUNT_FUNDS)
        }
        I::NonceOverflowInTransaction => names!(NONCE_IS_MAX),
        I::CreateInitCodeSizeLimit => names!(INITCODE_SIZE_EXCEEDED),
        I::InvalidChainId | I::MissingChainId => names!(INVALID_CHAINID),
        I::BlobGasPriceGreaterThanMax { .. } => names!(INSUFFICIENT_MAX_FEE_PER_BLOB_GAS),
        I::EmptyBlobs => names!(TYPE_3_TX_ZERO_BLOBS),
        I::BlobCreateTransaction => names!(TYPE_3_TX_CONTRACT_CREATION),
        I::TooManyBlobs { .. } => names!(TYPE_3_TX_BLOB_COUNT_EXCEEDED),
        I::BlobVersionNotSupported => names!(TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH),
        I::Eip2930NotSupported | I::Eip1559NotSupported | I::AccessListNotSupported => {
            names!(TYPE_NOT_SUPPORTED)
        }
        I::Eip4844NotSupported
        | I::MaxFeePerBlobGasNotSupported
        | I::BlobVersionedHashesNotSupported => names!(TYPE_3_TX_PRE_FORK, TYPE_NOT_SUPPORTED),
        I::Eip7702NotSupported | I::AuthorizationListNotSupported => {
            names!(TYPE_4_TX_PRE_FORK, TYPE_NOT_SUPPORTED)
        }
        I::EmptyAuthorizationList => names!(TYPE_4_EMPTY_AUTHORIZATION_LIST),
        I::AuthorizationListInvalidFields => names!(TYPE_4_INVALID_AUTHORIZATION_FORMAT),
        _ => &[],
    }
}

/// Whether `error` satisfies `expected`, one name or several joined by `|`.
pub fn satisfies(expected: &str, error: &TxError) -> bool {
    let names = fixture_names(error);
    expected
        .split('|')
        .map(str::trim)
        .any(|want| names.contains(&want))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternatives_match_any_and_nothing_else() {
        let funds = TxError::Evm(EvmError::InsufficientBalance {
            address: Default::default(),
            balance: Default::default(),
            required: Default::default(),
        });
        assert!(satisfies(
            "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|TransactionException.INTRINSIC_GAS_TOO_LOW",
            &funds
        ));
        assert!(satisfies(
            "TransactionException.INTRINSIC_GAS_TOO_LOW|TransactionException.INSUFFICIENT_ACCOUNT_FUNDS",
            &funds
        ));
        assert!(!satisfies(
            "TransactionException.INTRINSIC_GAS_TOO_LOW",
            &funds
        ));
        assert!(!satisfies("INSUFFICIENT_ACCOUNT_FUNDS", &funds));
    }

    #[test]
    fn nonce_direction_is_named() {
        let nonce = |expected, got| {
            TxError::Evm(EvmError::NonceMismatch {
                address: Default::default(),
                expected,
                got,
            })
        };
        assert_eq!(
            fixture_names(&nonce(1, 2)),
            ["TransactionException.NONCE_MISMATCH_TOO_HIGH"]
        );
        assert_eq!(
            fixture_names(&nonce(2, 1)),
            ["TransactionException.NONCE_MISMATCH_TOO_LOW"]
        );
    }

    #[test]
    fn an_undecodable_transaction_satisfies_nothing() {
        let decode = TxError::Decode {
            kind: "ethereum",
            prefix: "02ff".into(),
            message: "unexpected end".into(),
        };
        assert!(fixture_names(&decode).is_empty());
    }
}
