//! A resumable scripted engine for the kernel's tests of caps, slot 0 and
//! YIELD/RESUME (RFC 0010): each instance runs the ops of the program named
//! by its code, suspending at every CALL, YIELD and RESUME exactly as a
//! resumable engine does, and records what each op answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use braid_core::{
    CallResult, CallTarget, Cap, CapRefusal, CapResult, CodeRejection, Continuation, CoreError,
    Engine, EngineId, FaultReason, Host, Identity, Message, Outcome, Result, Resumable, Step, Wake,
};

/// One step of a scripted instance.
#[derive(Clone, Debug)]
pub enum Op {
    /// Writes own storage `0x01 ‖ key` (as a guest's `storage_write`).
    Store(&'static [u8], &'static [u8]),
    /// Reads the one-byte counter at own storage `0x01 ‖ key` (absent: 0)
    /// into the output and writes it plus one.
    Incr(&'static [u8]),
    /// Emits a log with these data.
    Log(&'static [u8]),
    /// Writes an engine key of its own scope directly (no `0x01`): what
    /// only a broken engine does.
    RawSet(Vec<u8>),
    /// Deletes a prefix of its own scope directly.
    RawDeletePrefix(Vec<u8>),
    /// CALL by identity.
    Call(Identity, u64),
    /// CALL through the Instance cap in a slot.
    CallCap(u8, u64),
    /// YIELD through the YieldRef in a slot.
    Yield(u8),
    /// RESUME.
    Resume,
    /// RESUME_FAULT.
    ResumeFault,
    /// `yieldref_mint` into a slot.
    MintRef(u8),
    /// `data_mint(bytes, size, dst)`.
    Mint(&'static [u8], u32, u8),
    /// Mints Data holding another program's code (its name) into a slot.
    MintCode(&'static str, u8),
    /// `data_read` of a slot into the output (padded to its size).
    ReadData(u8),
    /// `slot_copy`.
    Copy(u8, u8),
    /// `slot_move`.
    Move(u8, u8),
    /// `slot_drop`.
    Drop(u8),
    /// `cnode_pack(first, count, dst)`.
    Pack(u8, u16, u8),
    /// `cnode_unpack(cnode, first)`.
    Unpack(u8, u8),
    /// `image_make(code, pinned, dst)`.
    ImageMake(u8, Option<u8>, u8),
    /// `set_image`.
    SetImage(u8),
    /// `derive_spawn(image, dst)`.
    Spawn(u8, u8),
    /// `instance_cap(engine, identity, dst)`.
    InstanceCap(EngineId, Identity, u8),
    /// Records the cap in a slot.
    Peek(u8),
    /// Charges gas; out of gas faults.
    Charge(u64),
    /// Charges until exactly this much gas is left.
    BurnTo(u64),
    /// Records the gas left.
    GasLeft,
    /// Faults with a trap.
    Trap,
    /// Reverts with the output so far.
    Revert,
}

/// What an op answered, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A CALL, `call_cap`, `resume` or `resume_fault` came back.
    Returned(Outcome, u64),
    /// A CALL or resume answered "yielded" (PVM status 3): now handling.
    Yielded,
    /// The op's own YIELD was resumed.
    Resumed,
    /// A CALL by slot, YIELD or RESUME was refused.
    Refused(CapRefusal),
    /// A cap operation's answer.
    Cap(CapResult),
    /// The cap in a slot.
    Slot(u8, Option<Cap>),
    /// Gas left.
    Gas(u64),
}

/// The scripted engine: programs by code.
pub struct Scripts {
    id: EngineId,
    programs: HashMap<Vec<u8>, Vec<Op>>,
    seen: Mutex<Vec<(Identity, Seen)>>,
}

impl Scripts {
    /// An engine with `programs` as `(code, ops)`.
    pub fn new(id: EngineId, programs: Vec<(&'static str, Vec<Op>)>) -> Arc<Self> {
        Arc::new(Scripts {
            id,
            programs: programs
                .into_iter()
                .map(|(name, ops)| (name.as_bytes().to_vec(), ops))
                .collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Everything recorded, in order.
    pub fn seen(&self) -> Vec<(Identity, Seen)> {
        self.seen.lock().unwrap().clone()
    }

    /// What `who` recorded, in order.
    pub fn seen_by(&self, who: Identity) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|(i, _)| *i == who)
            .map(|(_, s)| s)
            .collect()
    }

    fn note(&self, who: Identity, seen: Seen) {
        self.seen.lock().unwrap().push((who, seen));
    }

    fn program(&self, host: &mut dyn Host) -> Result<Option<&Vec<Op>>> {
        let Some(hash) = host.instance_code_hash()? else {
            return Ok(None);
        };
        let Some(code) = host.code(&hash)? else {
            return Ok(None);
        };
        Ok(self.programs.get(&code))
    }

    /// Runs from `pc` until the program suspends or ends.
    fn run(&self, host: &mut dyn Host, mut state: State) -> Result<Step> {
        let me = host.self_identity();
        let Some(program) = self.program(host)? else {
            return Ok(Step::Done(Outcome::Fault(FaultReason::NoSuchInstance {
                identity: me,
            })));
        };
        while let Some(op) = program.get(state.pc) {
            state.pc += 1;
            let cap = |this: &Self, r: CapResult| this.note(me, Seen::Cap(r));
            match op {
                Op::Store(k, v) => host.set(&me, &[&[1][..], k].concat(), v)?,
                Op::Incr(k) => {
                    let key = [&[1][..], k].concat();
                    let old = host.get(&me, &key)?.map_or(0, |v| v[0]);
                    state.output.push(old);
                    host.set(&me, &key, &[old + 1])?;
                }
                Op::Log(data) => host.log(&me, vec![], data.to_vec())?,
                Op::RawSet(k) => host.set(&me, k, b"forged")?,
                Op::RawDeletePrefix(k) => host.delete_prefix(&me, k)?,
                Op::Call(target, gas) => {
                    return Ok(Step::Call {
                        target: CallTarget::Identity(*target),
                        endpoint: 0,
                        input: vec![],
                        gas_limit: *gas,
                        cont: state.into(),
                    });
                }
                Op::CallCap(slot, gas) => {
                    return Ok(Step::Call {
                        target: CallTarget::Slot(*slot),
                        endpoint: 0,
                        input: vec![],
                        gas_limit: *gas,
                        cont: state.into(),
                    });
                }
                Op::Yield(slot) => {
                    return Ok(Step::Yield {
                        via_slot: *slot,
                        cont: state.into(),
                    });
                }
                Op::Resume | Op::ResumeFault => {
                    return Ok(Step::Resume {
                        fault: matches!(op, Op::ResumeFault),
                        cont: state.into(),
                    });
                }
                Op::MintRef(dst) => cap(self, host.yieldref_mint(*dst)?),
                Op::Mint(bytes, size, dst) => cap(self, host.data_mint(bytes, *size, *dst)?),
                Op::MintCode(name, dst) => cap(self, host.data_mint(name.as_bytes(), 0, *dst)?),
                Op::ReadData(slot) => {
                    let mut read = Vec::new();
                    let r = host.data_read(*slot, &mut |bytes, size| {
                        read = bytes.to_vec();
                        read.resize(size as usize, 0);
                    })?;
                    state.output.extend(read);
                    cap(self, r);
                }
                Op::Copy(a, b) => cap(self, host.slot_copy(*a, *b)?),
                Op::Move(a, b) => cap(self, host.slot_move(*a, *b)?),
                Op::Drop(a) => cap(self, host.slot_drop(*a)?),
                Op::Pack(first, count, dst) => cap(self, host.cnode_pack(*first, *count, *dst)?),
                Op::Unpack(cnode, first) => cap(self, host.cnode_unpack(*cnode, *first)?),
                Op::ImageMake(code, pinned, dst) => {
                    cap(self, host.image_make(*code, *pinned, *dst)?)
                }
                Op::SetImage(slot) => cap(self, host.set_image(*slot)?),
                Op::Spawn(image, dst) => cap(self, host.derive_spawn(*image, *dst)?),
                Op::InstanceCap(engine, identity, dst) => {
                    cap(self, host.instance_cap(*engine, identity, *dst)?)
                }
                Op::Peek(slot) => {
                    let found = host.cap(*slot)?;
                    self.note(me, Seen::Slot(*slot, found));
                }
                Op::Charge(n) => {
                    if host.charge_gas(*n).is_err() {
                        return Ok(Step::Done(Outcome::Fault(FaultReason::OutOfGas)));
                    }
                }
                Op::BurnTo(left) => {
                    let burn = host.gas_left().saturating_sub(*left);
                    if host.charge_gas(burn).is_err() {
                        return Ok(Step::Done(Outcome::Fault(FaultReason::OutOfGas)));
                    }
                }
                Op::GasLeft => self.note(me, Seen::Gas(host.gas_left())),
                Op::Trap => return Ok(Step::Done(Outcome::Fault(FaultReason::Trap))),
                Op::Revert => {
                    return Ok(Step::Done(Outcome::Revert {
                        output: state.output,
                    }));
                }
            }
        }
        Ok(Step::Done(Outcome::Halt {
            output: state.output,
        }))
    }
}

/// A scripted instance, suspended: the next op and the output so far.
struct State {
    pc: usize,
    output: Vec<u8>,
}

impl From<State> for Continuation {
    fn from(state: State) -> Continuation {
        Continuation(Box::new(state))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a program name must be non-empty")]
struct EmptyCode;

impl Engine for Scripts {
    fn id(&self) -> EngineId {
        self.id
    }
    fn name(&self) -> &'static str {
        "scripts"
    }
    fn validate(&self, code: &[u8]) -> Result<()> {
        if code.is_empty() || !self.programs.contains_key(code) {
            return Err(CoreError::invalid_code(
                self.id,
                code,
                CodeRejection::Malformed,
                EmptyCode,
            ));
        }
        Ok(())
    }
    fn call(&self, _host: &mut dyn Host, _message: &Message) -> Result<Outcome> {
        Err(CoreError::Invariant {
            what: "a resumable engine's call was used",
        })
    }
    fn resumable(&self) -> Option<&dyn Resumable> {
        Some(self)
    }
}

impl Resumable for Scripts {
    fn start(&self, host: &mut dyn Host, _message: &Message, _endpoint: u8) -> Result<Step> {
        self.run(
            host,
            State {
                pc: 0,
                output: Vec::new(),
            },
        )
    }

    fn resume(
        &self,
        host: &mut dyn Host,
        _message: &Message,
        cont: Continuation,
        wake: Wake,
    ) -> Result<Step> {
        let me = host.self_identity();
        let state = *cont
            .0
            .downcast::<State>()
            .map_err(|_| CoreError::Invariant {
                what: "a continuation of another engine",
            })?;
        let seen = match wake {
            Wake::Returned(CallResult { outcome, gas_used }) => Seen::Returned(outcome, gas_used),
            Wake::Yielded => Seen::Yielded,
            Wake::Resumed => Seen::Resumed,
            Wake::Refused(refusal) => Seen::Refused(refusal),
        };
        self.note(me, seen);
        self.run(host, state)
    }
}
