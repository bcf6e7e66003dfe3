//! The EVM → PVM/WASM cross-engine read precompile (RFC 0004, DESIGN.md
//! "Cross-engine reads").
//!
//! At [`ADDRESS`], with the Solidity ABI:
//! - `readU64(bytes32 module, uint64 slot) returns (uint64)`: the PVM module
//!   whose identity is the low 20 bytes of `module`
//!   (`bytes32(uint256(uint160(identity)))`), storage key `slot` as 8 bytes
//!   little-endian, value read as a little-endian `u64` from its first 8
//!   bytes (shorter values are zero-extended; absent reads 0);
//! - `read(uint8 engine, address identity, bytes key) returns (bool found,
//!   bytes value)`: the storage key `key` of `(engine, identity)`.
//!
//! Both read the owner's **storage** (engine key `0x01 ‖ key`) as committed
//! by halted invocations (kernel rule 5): exactly what the owner reads with
//! its own storage read. Price: [`COLD_READ_GAS`] (a cold `SLOAD`, EIP-2929)
//! plus [`GAS_PER_WORD`] per 32-byte word of the returned value.

use alloy_sol_types::{SolCall, sol};
use braid_core::{EngineId, Identity, namespace};

/// The precompile's address: `0x00000000000000000000000000000000000B4A1D`.
pub const ADDRESS: [u8; 20] = {
    let mut a = [0u8; 20];
    a[17] = 0x0B;
    a[18] = 0x4A;
    a[19] = 0x1D;
    a
};

/// Base price of one read, EVM gas: a cold `SLOAD` (EIP-2929).
pub const COLD_READ_GAS: u64 = 2100;

/// Price per 32-byte word of the value returned by `read`, EVM gas (the
/// EVM's copy cost).
pub const GAS_PER_WORD: u64 = 3;

sol! {
    /// `readU64(bytes32 module, uint64 slot) returns (uint64)`.
    function readU64(bytes32 module, uint64 slot) external view returns (uint64);
    /// `read(uint8 engine, address identity, bytes key) returns (bool found, bytes value)`.
    function read(uint8 engine, address identity, bytes key) external view returns (bool found, bytes value);
}

/// The PVM engine id, which `readU64` reads.
pub const PVM: EngineId = EngineId(0x02);

/// A successful call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOutput {
    /// Gas used, EVM gas.
    pub gas_used: u64,
    /// ABI-encoded return data.
    pub output: Vec<u8>,
}

/// Why a call failed: the EVM call fails, consuming its gas, as a
/// precompile failure does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError<E> {
    /// The input is not a call to `readU64` or `read`.
    #[error("input of {len} bytes is not readU64(bytes32,uint64) or read(uint8,address,bytes)")]
    BadInput {
        /// Input length, bytes.
        len: usize,
    },
    /// The gas limit is below the price.
    #[error("the read costs {needed} gas, the call has {limit}")]
    OutOfGas {
        /// Price, EVM gas.
        needed: u64,
        /// Gas given, EVM gas.
        limit: u64,
    },
    /// Reading the state failed (not a guest error: the block stops).
    #[error(transparent)]
    State(E),
}

/// The storage key of `key`: engine key `0x01 ‖ key`.
pub fn storage_key(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + key.len());
    out.push(namespace::STORAGE);
    out.extend_from_slice(key);
    out
}

/// Runs the precompile on `input` with `gas_limit` EVM gas; `read_state`
/// reads a committed `(engine, identity, engine key)`.
///
/// # Errors
/// [`ReadError::BadInput`], [`ReadError::OutOfGas`], or the reader's error.
pub fn call<E>(
    input: &[u8],
    gas_limit: u64,
    mut read_state: impl FnMut(EngineId, &Identity, &[u8]) -> Result<Option<Vec<u8>>, E>,
) -> Result<ReadOutput, ReadError<E>> {
    let bad = || ReadError::BadInput { len: input.len() };
    let charge = |needed: u64| {
        if needed > gas_limit {
            Err(ReadError::OutOfGas {
                needed,
                limit: gas_limit,
            })
        } else {
            Ok(())
        }
    };
    let selector: [u8; 4] = input
        .get(..4)
        .ok_or_else(bad)?
        .try_into()
        .unwrap_or_default();
    if selector == readU64Call::SELECTOR {
        let call = readU64Call::abi_decode(input).map_err(|_| bad())?;
        charge(COLD_READ_GAS)?;
        let mut identity = [0u8; 20];
        identity.copy_from_slice(&call.module.0[12..]);
        let key = storage_key(&call.slot.to_le_bytes());
        let value = read_state(PVM, &Identity(identity), &key).map_err(ReadError::State)?;
        let mut le = [0u8; 8];
        if let Some(v) = &value {
            let n = v.len().min(8);
            le[..n].copy_from_slice(&v[..n]);
        }
        Ok(ReadOutput {
            gas_used: COLD_READ_GAS,
            output: readU64Call::abi_encode_returns(&u64::from_le_bytes(le)),
        })
    } else if selector == readCall::SELECTOR {
        let call = readCall::abi_decode(input).map_err(|_| bad())?;
        charge(COLD_READ_GAS)?;
        let key = storage_key(&call.key);
        let identity = Identity(call.identity.into_array());
        let value = read_state(EngineId(call.engine), &identity, &key).map_err(ReadError::State)?;
        let len = value.as_ref().map_or(0, Vec::len) as u64;
        let gas_used = COLD_READ_GAS + GAS_PER_WORD * len.div_ceil(32);
        charge(gas_used)?;
        let found = value.is_some();
        Ok(ReadOutput {
            gas_used,
            output: readCall::abi_encode_returns(&readReturn {
                found,
                value: value.unwrap_or_default().into(),
            }),
        })
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn reader(
        engine: EngineId,
        identity: &Identity,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(
            (engine == PVM && identity.0 == [7; 20] && key == storage_key(&5u64.to_le_bytes()))
                .then(|| 42u64.to_le_bytes().to_vec()),
        )
    }

    #[test]
    fn read_u64_decodes_the_module_and_slot() {
        let mut module = [0u8; 32];
        module[12..].copy_from_slice(&[7; 20]);
        let input = readU64Call {
            module: module.into(),
            slot: 5,
        }
        .abi_encode();
        let out = call(&input, 5000, reader).unwrap();
        assert_eq!(out.gas_used, COLD_READ_GAS);
        assert_eq!(readU64Call::abi_decode_returns(&out.output).unwrap(), 42);
        assert!(matches!(
            call(&input, 2099, reader),
            Err(ReadError::OutOfGas {
                needed: 2100,
                limit: 2099
            })
        ));
    }

    #[test]
    fn read_reports_absent_keys() {
        let input = readCall {
            engine: 2,
            identity: [7; 20].into(),
            key: vec![1, 2].into(),
        }
        .abi_encode();
        let out = call(&input, 5000, reader).unwrap();
        let ret = readCall::abi_decode_returns(&out.output).unwrap();
        assert!(!ret.found && ret.value.is_empty());
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for input in [&[][..], &[1, 2, 3], &[0xde, 0xad, 0xbe, 0xef, 0]] {
            assert!(matches!(
                call(input, 5000, reader),
                Err(ReadError::BadInput { .. })
            ));
        }
        // The right selector with a truncated body.
        let mut input = readCall {
            engine: 2,
            identity: [7; 20].into(),
            key: vec![1, 2].into(),
        }
        .abi_encode();
        input.truncate(40);
        assert!(matches!(
            call(&input, 5000, reader),
            Err(ReadError::BadInput { .. })
        ));
    }
}
