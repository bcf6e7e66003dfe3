//! The interpreter over a plain in-memory host (the naive twin of the ABI
//! host): gas per the table, traps, edges. Kept out of `vm.rs`, which
//! `plugins/testlibs/faulty` compiles with fault opcodes on.

use std::collections::BTreeMap;

use crate::assemble;
use crate::vm::*;

/// A plain in-memory host: the naive twin of the ABI host.
#[derive(Default)]
struct MemoryHost {
    storage: BTreeMap<Vec<u8>, Vec<u8>>,
    gas_left: u64,
    logs: Vec<Vec<u8>>,
}

impl VmHost for MemoryHost {
    fn charge_gas(&mut self, amount: u64) -> Result<(), HostStop> {
        self.gas_left = self
            .gas_left
            .checked_sub(amount)
            .ok_or(HostStop::OutOfGas)?;
        Ok(())
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, HostStop> {
        Ok(self.storage.get(key).cloned())
    }
    fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), HostStop> {
        match value {
            Some(v) => self.storage.insert(key.to_vec(), v.to_vec()),
            None => self.storage.remove(key),
        };
        Ok(())
    }
    fn read(&mut self, _: u8, _: &[u8; 20], _: &[u8]) -> Result<Option<Vec<u8>>, HostStop> {
        Ok(None)
    }
    fn log(&mut self, data: &[u8]) -> Result<(), HostStop> {
        self.logs.push(data.to_vec());
        Ok(())
    }
}

fn exec(source: &str, input: &[u8], gas: u64) -> (Exit, MemoryHost) {
    let code = assemble(source).unwrap();
    validate(&code, false).unwrap();
    let mut host = MemoryHost {
        gas_left: gas,
        ..MemoryHost::default()
    };
    let exit = run(&code, input, &[0; 32], &mut host);
    (exit, host)
}

#[test]
fn gas_is_the_sum_of_the_table() {
    // PUSH 1, PUSH 1, ADD 1, DUP 1, PUSH 1, SWAP 1, SSTORE 100, RETURN 0.
    let (exit, host) = exec(
        "PUSH 2 PUSH 3 ADD DUP 0 PUSH 9 SWAP 0 SSTORE RETURN",
        &[],
        1000,
    );
    assert_eq!(exit, Exit::Halt(5u64.to_be_bytes().to_vec()));
    assert_eq!(1000 - host.gas_left, 106);
    assert_eq!(
        host.storage[&9u64.to_be_bytes().to_vec()],
        5u64.to_be_bytes()
    );
    // One unit short: out of gas at the SSTORE.
    assert_eq!(exec("PUSH 9 PUSH 5 SSTORE", &[], 101).0, Exit::OutOfGas);
}

#[test]
fn traps_and_edges() {
    assert_eq!(exec("POP", &[], 100).0, Exit::Trap);
    assert_eq!(exec("DUP 0", &[], 100).0, Exit::Trap);
    assert_eq!(exec("PUSH 1 SWAP 0", &[], 100).0, Exit::Trap);
    assert_eq!(
        exec("PUSH 1", &[], 100).0,
        Exit::Halt(vec![]),
        "falls off the end"
    );
    let overflow = exec("l: PUSH 1 JUMP l", &[], u64::MAX).0;
    assert_eq!(overflow, Exit::Trap, "stack overflow past MAX_STACK");
    // Input words are big-endian and zero-padded.
    let (exit, _) = exec("PUSH 1 INPUT RETURN", &[0, 0, 0, 0, 0, 0, 0, 0, 0xAB], 100);
    assert_eq!(
        exit,
        Exit::Halt(0xAB00_0000_0000_0000u64.to_be_bytes().to_vec())
    );
    // Storing 0 deletes.
    let (_, host) = exec("PUSH 4 PUSH 1 SSTORE PUSH 4 PUSH 0 SSTORE", &[], 1000);
    assert!(host.storage.is_empty());
    let code = assemble("PANIC").unwrap();
    let mut host = MemoryHost {
        gas_left: 10,
        ..MemoryHost::default()
    };
    assert_eq!(
        run(&code, &[], &[0; 32], &mut host),
        Exit::Trap,
        "no fault opcodes here"
    );
}
