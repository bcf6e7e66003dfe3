//! Braid calls into the EVM (`Engine::call`): outcomes, faults and code validation.

mod common;

use braid_core::{CoreError, Engine, FaultCode, FaultReason, Outcome};
use braid_evm::layout::GenesisAccount;
use braid_evm::revm::primitives::hardfork::SpecId;
use braid_evm::revm::primitives::{Address, U256};
use braid_evm::{EvmEngine, EvmError};
use common::{Harness, eoa, ether};

const CALLER: Address = Address::repeat_byte(0xa1);

fn with_contract(code: &[u8]) -> (Harness, Address) {
    let target = Address::repeat_byte(0xc2);
    let mut harness = Harness::new(SpecId::PRAGUE);
    let contract = GenesisAccount {
        nonce: 1,
        code: code.to_vec(),
        ..GenesisAccount::default()
    };
    harness.genesis(&[(CALLER, eoa(ether(1))), (target, contract)]);
    (harness, target)
}

#[test]
fn return_data_halts() {
    // MSTORE(0, 42); RETURN(0, 32)
    let (harness, target) =
        with_contract(&[0x60, 0x2a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]);
    let mut expected = [0u8; 32];
    expected[31] = 42;
    assert_eq!(
        harness.call(CALLER, target, vec![]),
        Outcome::Halt {
            output: expected.to_vec()
        }
    );
}

#[test]
fn revert_reverts_with_its_data() {
    // SSTORE(0, 1); MSTORE(0, 7); REVERT(31, 1)
    let code = [
        0x60, 0x01, 0x60, 0x00, 0x55, 0x60, 0x07, 0x60, 0x00, 0x52, 0x60, 0x01, 0x60, 0x1f, 0xfd,
    ];
    let (harness, target) = with_contract(&code);
    assert_eq!(
        harness.call(CALLER, target, vec![]),
        Outcome::Revert { output: vec![7] }
    );
    assert_eq!(harness.storage(target, U256::ZERO), U256::ZERO);
}

#[test]
fn exceptional_halts_fault() {
    let (harness, target) = with_contract(&[0xfe]);
    assert_eq!(
        harness.call(CALLER, target, vec![]),
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::EvmInvalidFeOpcode
        })
    );
    // JUMP to 0, which is not a JUMPDEST.
    let (harness, target) = with_contract(&[0x60, 0x00, 0x56]);
    assert_eq!(
        harness.call(CALLER, target, vec![]),
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::EvmInvalidJump
        })
    );
    // An endless loop: JUMPDEST; PUSH1 0; JUMP.
    let (harness, target) = with_contract(&[0x5b, 0x60, 0x00, 0x56]);
    assert_eq!(
        harness.call(CALLER, target, vec![]),
        Outcome::Fault(FaultReason::OutOfGas)
    );
}

#[test]
fn value_without_funds_faults() {
    let (harness, target) = with_contract(&[0x00]);
    let poor = Address::repeat_byte(0x99);
    let mut block = braid_kernel::BlockState::new(&harness.db, harness.env.clone());
    let mut kernel = braid_kernel::Kernel::new(
        &mut block,
        &harness.engines,
        &braid_core::NoBlockHashes,
        1_000_000,
    );
    let message = braid_core::Message {
        caller: braid_evm::layout::identity(poor),
        target: braid_evm::layout::identity(target),
        input: vec![],
        value: U256::from(1).to_be_bytes::<32>(),
        gas_limit: 1_000_000,
    };
    let result = kernel.call(braid_core::EngineId::EVM, message).unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Fault(FaultReason::Engine {
            code: FaultCode::EvmInsufficientBalance
        })
    );
}

#[test]
fn validate_checks_size_and_0xef() {
    let engine = EvmEngine::new(SpecId::PRAGUE);
    assert!(engine.validate(&[0x60, 0x00]).is_ok());
    let reason = |e: CoreError| match e {
        CoreError::InvalidCode { ref reason, .. } => {
            reason.downcast_ref::<EvmError>().cloned().unwrap()
        }
        other => panic!("not InvalidCode: {other}"),
    };
    let big = vec![0u8; 24_577];
    assert_eq!(
        reason(engine.validate(&big).unwrap_err()),
        EvmError::CodeTooLarge {
            len: 24_577,
            limit: 24_576
        }
    );
    assert_eq!(
        reason(engine.validate(&[0xef, 0x00]).unwrap_err()),
        EvmError::CodeStartsWithEf
    );
    let mut delegation = vec![0xef, 0x01, 0x00];
    delegation.extend([0x11; 20]);
    assert!(
        engine.validate(&delegation).is_ok(),
        "an EIP-7702 delegation is valid code"
    );
    let init = vec![0u8; 49_153];
    assert_eq!(
        reason(engine.validate_initcode(&init).unwrap_err()),
        EvmError::InitcodeTooLarge {
            len: 49_153,
            limit: 49_152
        }
    );
    assert!(engine.validate_initcode(&init[..49_152]).is_ok());
}
