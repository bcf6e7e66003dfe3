//! The PVM's capability host calls, ids 15–36 (RFC 0010, RFC 0003 table):
//! slot operations answered through [`braid_core::Host`]'s cap methods, and
//! the calls that suspend the invocation (`call_cap`, `yield`, `resume`,
//! `resume_fault`), which the engine turns into a [`braid_core::Step`].
//!
//! Guests name slots (`u8`), never cap bytes: no call here turns guest
//! memory into a cap. A slot operand above 0xFF is `WHAT`. Refusals
//! ([`CapRefusal`]) map to the statuses of [`status`]; memory faults panic
//! the invocation as every host call does (RFC 0003).

use braid_core::{Cap, CapKind, CapRefusal, CapResult, EngineId, Host, Result};
use braid_precompiles::host_calls::{BASE_GAS, FULL, NONE, OK, WHAT};

use crate::api::GuestAccess;
use crate::host::{Panic, read, read_array, write, write_window};
use crate::isa::Reg;

/// `WHO` (GP B.5, 2^64 − 4): no instance with that identity.
pub const WHO: u64 = u64::MAX - 3;
/// `HUH` (GP B.5, 2^64 − 9): refused by a cap rule (pinned slot, stale or
/// misdirected YieldRef, not handling a yield, spawn collision).
pub const HUH: u64 = u64::MAX - 8;
/// The status of a `call`, `call_cap`, `resume` or `resume_fault` that a
/// yield from the subtree above interrupted: the caller now handles it.
pub const YIELDED: u64 = 3;

/// The capability host calls, by `ecalli` id (RFC 0003 table, ids 15–36).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum CapCall {
    /// 15: CALL through the `Cap::Instance` in a slot (suspends).
    call_cap,
    /// 16: YIELD through the `Cap::YieldRef` in a slot (suspends).
    r#yield,
    /// 17: switch the running instance's image from its next invocation.
    set_image,
    /// 18: spawn an instance of an image.
    derive_spawn,
    /// 19: make an image from code in a Data cap and pinned slots in a CNode.
    image_make,
    /// 20: whether two Instance caps have the same type chain.
    same_type,
    /// 21: the type chain of an Instance cap, as 32 bytes.
    type_of,
    /// 22: read a Data cap's bytes.
    data_read,
    /// 23: mint a Data cap from guest memory.
    data_mint,
    /// 24, 25, 36: reserved (HOST_OPEN, HOST_SAVE, DROP_RESUME); always `WHAT`.
    reserved,
    /// 26: an Instance cap of a resident instance.
    instance_cap,
    /// 27: copy a slot.
    slot_copy,
    /// 28: move a slot.
    slot_move,
    /// 29: empty a slot.
    slot_drop,
    /// 30: a slot's kind (and a Data cap's size).
    slot_kind,
    /// 31: pack slots into a CNode.
    cnode_pack,
    /// 32: unpack a CNode into slots.
    cnode_unpack,
    /// 33: mint a YieldRef naming the running invocation.
    yieldref_mint,
    /// 34: resume the yielder (suspends).
    resume,
    /// 35: discard the yielder (suspends).
    resume_fault,
}

impl CapCall {
    /// The call with `ecalli` id `id`, if it is one of ids 15–36.
    pub fn from_id(id: u32) -> Option<CapCall> {
        Some(match id {
            15 => CapCall::call_cap,
            16 => CapCall::r#yield,
            17 => CapCall::set_image,
            18 => CapCall::derive_spawn,
            19 => CapCall::image_make,
            20 => CapCall::same_type,
            21 => CapCall::type_of,
            22 => CapCall::data_read,
            23 => CapCall::data_mint,
            24 | 25 | 36 => CapCall::reserved,
            26 => CapCall::instance_cap,
            27 => CapCall::slot_copy,
            28 => CapCall::slot_move,
            29 => CapCall::slot_drop,
            30 => CapCall::slot_kind,
            31 => CapCall::cnode_pack,
            32 => CapCall::cnode_unpack,
            33 => CapCall::yieldref_mint,
            34 => CapCall::resume,
            35 => CapCall::resume_fault,
            _ => return None,
        })
    }

    /// Gas charged before the call runs, PVM gas (RFC 0003 table; sizes
    /// from the guest's registers). The suspending calls charge their base
    /// here; a callee's use is charged when it returns, as for `call`.
    pub fn price(self, regs: &[u64; 13]) -> u64 {
        let words = |len: u64| len.div_ceil(32);
        match self {
            CapCall::call_cap | CapCall::r#yield | CapCall::resume | CapCall::resume_fault => 700,
            CapCall::set_image => 5_000,
            CapCall::derive_spawn => 20_000,
            // Code bytes are read from a stored Data cap: the price cannot
            // depend on a register, so the per-byte part is charged at mint.
            CapCall::image_make => 2_000,
            CapCall::same_type | CapCall::type_of => 50,
            CapCall::data_read => 200u64.saturating_add(words(regs[10])),
            // Per word of the bytes given (the stripped bytes are not known
            // before the call reads them; never less than the table's price).
            CapCall::data_mint => 2_000u64.saturating_add(words(regs[8]).saturating_mul(8)),
            CapCall::reserved => BASE_GAS,
            CapCall::instance_cap => 200,
            CapCall::slot_copy | CapCall::slot_move | CapCall::slot_drop => 100,
            CapCall::slot_kind => BASE_GAS,
            CapCall::cnode_pack => 500u64.saturating_add(regs[8].min(256).saturating_mul(50)),
            CapCall::cnode_unpack => 500 + 50 * 256,
            CapCall::yieldref_mint => 100,
        }
    }
}

/// The PVM status of a refusal (RFC 0010 table).
pub fn status(refusal: CapRefusal) -> u64 {
    match refusal {
        CapRefusal::Empty => NONE,
        CapRefusal::WrongKind
        | CapRefusal::BadArgument
        | CapRefusal::InvalidCode
        | CapRefusal::Unsupported => WHAT,
        CapRefusal::NoSuchInstance => WHO,
        CapRefusal::TooLarge => FULL,
        _ => HUH,
    }
}

fn answer(result: CapResult) -> u64 {
    result.map_or_else(status, |()| OK)
}

/// A slot operand: a register value, `None` (answer `WHAT`) above 0xFF.
pub fn slot(value: u64) -> Option<u8> {
    u8::try_from(value).ok()
}

fn r(i: u8) -> Reg {
    Reg::clamped(i)
}

/// Runs synchronous cap call `which` (already paid for; not one of the
/// suspending calls) and sets `r7` (and `r8`).
///
/// # Errors
/// The outer error: the host could not process the call (the block stops).
/// The inner `Err(Panic)`: guest memory the call cannot read or write.
pub(crate) fn run(
    which: CapCall,
    guest: &mut dyn GuestAccess,
    host: &mut dyn Host,
) -> Result<std::result::Result<(), Panic>> {
    let regs = guest.regs();
    let set = |guest: &mut dyn GuestAccess, value: u64| guest.set_reg(r(7), value);
    macro_rules! slots {
        ($($v:ident = $i:expr),+) => {
            $(let Some($v) = slot(regs[$i]) else {
                set(guest, WHAT);
                return Ok(Ok(()));
            };)+
        };
    }
    macro_rules! guest {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(panic) => return Ok(Err(panic)),
            }
        };
    }
    match which {
        CapCall::call_cap | CapCall::r#yield | CapCall::resume | CapCall::resume_fault => {
            return Err(braid_core::CoreError::Invariant {
                what: "a suspending PVM cap call reached the synchronous dispatch",
            });
        }
        CapCall::reserved => set(guest, WHAT),
        CapCall::set_image => {
            slots!(image = 7);
            set(guest, answer(host.set_image(image)?));
        }
        CapCall::derive_spawn => {
            slots!(image = 7, dst = 8);
            set(guest, answer(host.derive_spawn(image, dst)?));
        }
        CapCall::image_make => {
            slots!(code = 7, dst = 9);
            let pinned = match regs[8] {
                u64::MAX => None,
                other => match slot(other) {
                    Some(s) => Some(s),
                    None => {
                        set(guest, WHAT);
                        return Ok(Ok(()));
                    }
                },
            };
            set(guest, answer(host.image_make(code, pinned, dst)?));
        }
        CapCall::same_type => {
            slots!(a = 7, b = 8);
            let value = match (host.cap(a)?, host.cap(b)?) {
                (Some(Cap::Instance { chain: x, .. }), Some(Cap::Instance { chain: y, .. })) => {
                    u64::from(x == y)
                }
                _ => WHAT,
            };
            set(guest, value);
        }
        CapCall::type_of => {
            slots!(a = 7);
            match host.cap(a)? {
                Some(Cap::Instance { chain, .. }) => {
                    guest!(write(guest, regs[8], &chain));
                    set(guest, OK);
                }
                _ => set(guest, WHAT),
            }
        }
        CapCall::data_read => {
            slots!(a = 7);
            let (out, offset, len) = (regs[8], regs[9], regs[10]);
            let mut padded = Vec::new();
            let mut total = 0u32;
            let result = host.data_read(a, &mut |bytes, size| {
                total = size;
                // The window [offset, offset + len) of the bytes padded
                // with zeros to `size`, built without padding the whole.
                let start = offset.min(u64::from(size)) as usize;
                let end = offset.saturating_add(len).min(u64::from(size)) as usize;
                padded = vec![0; end - start];
                if start < bytes.len() {
                    let have = end.min(bytes.len());
                    padded[..have - start].copy_from_slice(&bytes[start..have]);
                }
            })?;
            match result {
                Ok(()) => {
                    guest!(write(guest, out, &padded));
                    set(guest, u64::from(total));
                }
                Err(refusal) => set(guest, status(refusal)),
            }
        }
        CapCall::data_mint => {
            slots!(dst = 10);
            let (address, len, size) = (regs[7], regs[8], regs[9]);
            let max = u64::from(braid_core::cap::MAX_DATA_SIZE);
            if len > max || size > max {
                set(guest, FULL);
                return Ok(Ok(()));
            }
            let bytes = guest!(read(guest, address, len));
            set(guest, answer(host.data_mint(&bytes, size as u32, dst)?));
        }
        CapCall::instance_cap => {
            slots!(engine = 7, dst = 9);
            let identity: [u8; 20] = guest!(read_array(guest, regs[8]));
            let result =
                host.instance_cap(EngineId(engine), &braid_core::Identity(identity), dst)?;
            set(guest, answer(result));
        }
        CapCall::slot_copy => {
            slots!(src = 7, dst = 8);
            set(guest, answer(host.slot_copy(src, dst)?));
        }
        CapCall::slot_move => {
            slots!(src = 7, dst = 8);
            set(guest, answer(host.slot_move(src, dst)?));
        }
        CapCall::slot_drop => {
            slots!(a = 7);
            set(guest, answer(host.slot_drop(a)?));
        }
        CapCall::slot_kind => {
            slots!(a = 7);
            let cap = host.cap(a)?;
            set(guest, CapKind::of(cap.as_ref()) as u64);
            let size = match cap {
                Some(Cap::Data { size, .. }) => u64::from(size),
                _ => 0,
            };
            guest.set_reg(r(8), size);
        }
        CapCall::cnode_pack => {
            slots!(first = 7, dst = 9);
            let Ok(count) = u16::try_from(regs[8]) else {
                set(guest, WHAT);
                return Ok(Ok(()));
            };
            set(guest, answer(host.cnode_pack(first, count, dst)?));
        }
        CapCall::cnode_unpack => {
            slots!(cnode = 7, first = 8);
            set(guest, answer(host.cnode_unpack(cnode, first)?));
        }
        CapCall::yieldref_mint => {
            slots!(dst = 7);
            set(guest, answer(host.yieldref_mint(dst)?));
        }
    }
    Ok(Ok(()))
}

/// Copies at most `len` bytes of `output` to `out` for a returning call
/// (as `call` does).
pub(crate) fn write_output(
    guest: &mut dyn GuestAccess,
    out: u64,
    len: u64,
    output: &[u8],
) -> std::result::Result<(), Panic> {
    write_window(guest, out, 0, len, output)
}
