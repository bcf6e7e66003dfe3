//! The WASM host functions (RFC 0004): the `"braid"` imports, mapped onto
//! the shared table and semantics of [`braid_precompiles::host_calls`].
//!
//! A guest runs on its own fiber (wasmtime's async support). A host
//! function reads its arguments from linear memory and charges its price
//! from the store's fuel on the fiber; one that needs the world
//! ([`braid_core::Host`]) posts a [`Request`] to the invocation's
//! [`Mailbox`] and suspends. The engine's driver, which holds the `Host`,
//! settles the fuel used so far, serves the request and resumes the guest
//! with the answer and the gas left. Nothing else crosses: the store never
//! holds the host.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use braid_core::{EngineId, Host, Identity, Result};
use braid_precompiles::host_calls::{self, HostCall, Lookup};
use braid_precompiles::{blake2b_256, keccak_256};
use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};

use crate::config::limits;

/// Why a guest stopped early, raised from a host function or the limiter.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Exit {
    /// The guest called `revert`.
    #[error("the guest reverted")]
    Revert(Vec<u8>),
    /// A host call's price, or a settlement, exceeded the gas left.
    #[error("out of gas")]
    OutOfGas,
    /// A host call named memory outside the linear memory, or the output
    /// range is outside it.
    #[error("a range outside linear memory")]
    BadRange,
    /// `memory.grow` past [`limits::MAX_MEMORY`].
    #[error("memory limit")]
    MemoryLimit,
    /// The stack-height counter passed [`limits::MAX_STACK_SLOTS`].
    #[error("stack limit")]
    StackLimit,
}

/// A host call that needs the world, with the bytes it read from the guest.
pub(crate) enum Request {
    StorageRead(Vec<u8>),
    StorageWrite(Vec<u8>, Vec<u8>),
    StorageDelete(Vec<u8>),
    EvmStorageRead([u8; 20], [u8; 32]),
    StateRead(EngineId, [u8; 20], Vec<u8>),
    Log(Vec<u8>, Vec<u8>),
    Call([u8; 20], Vec<u8>, u64),
}

/// The answer to a [`Request`].
pub(crate) enum Answer {
    Lookup(Lookup),
    Status(u64),
    Word([u8; 32]),
    Called(u64, Vec<u8>),
}

/// The driver's reply.
pub(crate) enum Reply {
    /// Served; the guest resumes with `gas_left` fuel.
    Done { gas_left: u64, answer: Answer },
    /// Settling the guest's fuel ran out of gas.
    OutOfGas,
}

/// One invocation's exchange slot between the guest fiber and the driver.
#[derive(Default)]
pub(crate) struct Mailbox {
    /// Posted by the guest: its fuel left at the call, and the request.
    pub request: Option<(u64, Request)>,
    /// Posted by the driver.
    pub reply: Option<Reply>,
}

pub(crate) fn lock(mailbox: &Mutex<Mailbox>) -> MutexGuard<'_, Mailbox> {
    mailbox.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves one request against the host (the semantics are the shared ones).
///
/// # Errors
/// Host failures (the call could not be processed).
pub(crate) fn serve(host: &mut dyn Host, me: &Identity, request: Request) -> Result<Answer> {
    Ok(match request {
        Request::StorageRead(key) => Answer::Lookup(host_calls::storage_read(host, me, &key)?),
        Request::StorageWrite(key, value) => {
            Answer::Status(host_calls::storage_write(host, me, &key, &value)?)
        }
        Request::StorageDelete(key) => Answer::Status(host_calls::storage_delete(host, me, &key)?),
        Request::EvmStorageRead(address, slot) => {
            Answer::Word(host_calls::evm_storage_read(host, address, slot)?)
        }
        Request::StateRead(engine, identity, key) => {
            Answer::Lookup(host_calls::state_read(host, engine, identity, &key)?)
        }
        Request::Log(topics, data) => Answer::Status(host_calls::log(host, me, &topics, data)?),
        Request::Call(callee, input, gas) => {
            let (status, output) = host_calls::call(host, callee, input, gas)?;
            Answer::Called(status, output)
        }
    })
}

/// The store data of one invocation.
pub(crate) struct Guest {
    /// The guest's exported memory, kept once found.
    pub memory: Option<Memory>,
    pub input: Vec<u8>,
    pub caller: Identity,
    pub me: Identity,
    pub mailbox: Arc<Mutex<Mailbox>>,
    pub limits: Limits,
}

/// The store's [`ResourceLimiter`]: one memory of at most
/// [`limits::MAX_MEMORY`] bytes (growing past it faults), one table.
pub(crate) struct Limits;

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > limits::MAX_MEMORY {
            return Err(wasmtime::Error::new(Exit::MemoryLimit));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired as u64 <= limits::MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        1
    }
    fn memories(&self) -> usize {
        1
    }
}

type Cx<'a> = Caller<'a, Guest>;
type R<T> = wasmtime::Result<T>;

fn exit(e: Exit) -> wasmtime::Error {
    wasmtime::Error::new(e)
}

fn memory(cx: &mut Cx<'_>) -> R<Memory> {
    if let Some(memory) = cx.data().memory {
        return Ok(memory);
    }
    let memory = cx
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| exit(Exit::BadRange))?;
    cx.data_mut().memory = Some(memory);
    Ok(memory)
}

fn range(ptr: u32, len: u64, size: usize) -> R<std::ops::Range<usize>> {
    let start = u64::from(ptr);
    let end = start.checked_add(len).ok_or_else(|| exit(Exit::BadRange))?;
    if end > size as u64 {
        return Err(exit(Exit::BadRange));
    }
    Ok(start as usize..end as usize)
}

fn read(cx: &mut Cx<'_>, ptr: u32, len: u64) -> R<Vec<u8>> {
    let memory = memory(cx)?;
    let data = memory.data(&*cx);
    Ok(data[range(ptr, len, data.len())?].to_vec())
}

fn read_array<const N: usize>(cx: &mut Cx<'_>, ptr: u32) -> R<[u8; N]> {
    let memory = memory(cx)?;
    let data = memory.data(&*cx);
    let mut out = [0u8; N];
    out.copy_from_slice(&data[range(ptr, N as u64, data.len())?]);
    Ok(out)
}

fn check_writable(cx: &mut Cx<'_>, ptr: u32, len: u64) -> R<()> {
    let memory = memory(cx)?;
    range(ptr, len, memory.data_size(&*cx)).map(|_| ())
}

fn write(cx: &mut Cx<'_>, ptr: u32, bytes: &[u8]) -> R<()> {
    let memory = memory(cx)?;
    let data = memory.data_mut(&mut *cx);
    let r = range(ptr, bytes.len() as u64, data.len())?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

/// Charges `which`'s price from the fuel; out of gas consumes everything.
fn charge(cx: &mut Cx<'_>, which: HostCall, len: u64, topics: u64) -> R<()> {
    let price = which.price(len, topics);
    let fuel = cx.get_fuel()?;
    if fuel < price {
        cx.set_fuel(0)?;
        return Err(exit(Exit::OutOfGas));
    }
    cx.set_fuel(fuel - price)?;
    Ok(())
}

/// Posts `request` and suspends until the driver has served it.
async fn exchange(cx: &mut Cx<'_>, request: Request) -> R<Answer> {
    let fuel = cx.get_fuel()?;
    let mailbox = cx.data().mailbox.clone();
    lock(&mailbox).request = Some((fuel, request));
    let reply = poll_fn(|_| match lock(&mailbox).reply.take() {
        Some(reply) => Poll::Ready(reply),
        None => Poll::Pending,
    })
    .await;
    match reply {
        Reply::Done { gas_left, answer } => {
            cx.set_fuel(gas_left)?;
            Ok(answer)
        }
        Reply::OutOfGas => {
            cx.set_fuel(0)?;
            Err(exit(Exit::OutOfGas))
        }
    }
}

fn sentinel(value: u64) -> i64 {
    value as i64
}

/// Writes a [`Lookup`] the way `storage_read` and `state_read` answer it.
fn answer_lookup(cx: &mut Cx<'_>, lookup: Lookup, buf: u32, offset: u64, len: u64) -> R<i64> {
    Ok(match lookup {
        Lookup::Found(value) => {
            write(cx, buf, host_calls::window(&value, offset, len))?;
            value.len() as i64
        }
        Lookup::Absent => sentinel(host_calls::NONE),
        Lookup::Full => sentinel(host_calls::FULL),
    })
}

fn unexpected() -> wasmtime::Error {
    wasmtime::Error::msg("host answered a different request")
}

/// Defines every `"braid"` host function in `linker`.
///
/// # Errors
/// Only if wasmtime refuses a definition (a bug).
pub(crate) fn define(linker: &mut Linker<Guest>) -> wasmtime::Result<()> {
    use HostCall as H;
    linker.func_wrap_async("braid", "gas", |mut cx: Cx<'_>, (): ()| {
        Box::new(async move {
            charge(&mut cx, H::gas, 0, 0)?;
            Ok(cx.get_fuel()? as i64)
        })
    })?;
    linker.func_wrap_async(
        "braid",
        "input",
        |mut cx: Cx<'_>, (buf, offset, len): (u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::input, u64::from(len), 0)?;
                let input = std::mem::take(&mut cx.data_mut().input);
                let result = write(
                    &mut cx,
                    buf,
                    host_calls::window(&input, u64::from(offset), u64::from(len)),
                );
                let n = input.len() as i64;
                cx.data_mut().input = input;
                result.map(|()| n)
            })
        },
    )?;
    linker.func_wrap_async("braid", "caller", |mut cx: Cx<'_>, (buf,): (u32,)| {
        Box::new(async move {
            charge(&mut cx, H::caller, 0, 0)?;
            let id = cx.data().caller;
            write(&mut cx, buf, &id.0)?;
            Ok(sentinel(host_calls::OK))
        })
    })?;
    linker.func_wrap_async(
        "braid",
        "self_identity",
        |mut cx: Cx<'_>, (buf,): (u32,)| {
            Box::new(async move {
                charge(&mut cx, H::self_identity, 0, 0)?;
                let id = cx.data().me;
                write(&mut cx, buf, &id.0)?;
                Ok(sentinel(host_calls::OK))
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "storage_read",
        |mut cx: Cx<'_>, (key, key_len, buf, offset, len): (u32, u32, u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::storage_read, u64::from(len), 0)?;
                let key = read(&mut cx, key, u64::from(key_len))?;
                let Answer::Lookup(lookup) = exchange(&mut cx, Request::StorageRead(key)).await?
                else {
                    return Err(unexpected());
                };
                answer_lookup(&mut cx, lookup, buf, u64::from(offset), u64::from(len))
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "storage_write",
        |mut cx: Cx<'_>, (key, key_len, value, value_len): (u32, u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::storage_write, u64::from(value_len), 0)?;
                let key = read(&mut cx, key, u64::from(key_len))?;
                let value = read(&mut cx, value, u64::from(value_len))?;
                match exchange(&mut cx, Request::StorageWrite(key, value)).await? {
                    Answer::Status(status) => Ok(sentinel(status)),
                    _ => Err(unexpected()),
                }
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "storage_delete",
        |mut cx: Cx<'_>, (key, key_len): (u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::storage_delete, 0, 0)?;
                let key = read(&mut cx, key, u64::from(key_len))?;
                match exchange(&mut cx, Request::StorageDelete(key)).await? {
                    Answer::Status(status) => Ok(sentinel(status)),
                    _ => Err(unexpected()),
                }
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "evm_storage_read",
        |mut cx: Cx<'_>, (address, slot, buf): (u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::evm_storage_read, 0, 0)?;
                let address: [u8; 20] = read_array(&mut cx, address)?;
                let slot: [u8; 32] = read_array(&mut cx, slot)?;
                check_writable(&mut cx, buf, 32)?;
                match exchange(&mut cx, Request::EvmStorageRead(address, slot)).await? {
                    Answer::Word(word) => {
                        write(&mut cx, buf, &word)?;
                        Ok(sentinel(host_calls::OK))
                    }
                    _ => Err(unexpected()),
                }
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "state_read",
        |mut cx: Cx<'_>,
         (engine, identity, key, key_len, buf, len): (u32, u32, u32, u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::state_read, u64::from(len), 0)?;
                let Some(engine) = host_calls::state_read_engine(u64::from(engine)) else {
                    return Ok(sentinel(host_calls::WHAT));
                };
                let identity: [u8; 20] = read_array(&mut cx, identity)?;
                let key = read(&mut cx, key, u64::from(key_len))?;
                let Answer::Lookup(lookup) =
                    exchange(&mut cx, Request::StateRead(engine, identity, key)).await?
                else {
                    return Err(unexpected());
                };
                answer_lookup(&mut cx, lookup, buf, 0, u64::from(len))
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "log",
        |mut cx: Cx<'_>, (topics, count, data, data_len): (u32, u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::log, u64::from(data_len), u64::from(count))?;
                if u64::from(count) > host_calls::MAX_TOPICS {
                    return Ok(sentinel(host_calls::WHAT));
                }
                let topics = read(&mut cx, topics, u64::from(count) * 32)?;
                let data = read(&mut cx, data, u64::from(data_len))?;
                match exchange(&mut cx, Request::Log(topics, data)).await? {
                    Answer::Status(status) => Ok(sentinel(status)),
                    _ => Err(unexpected()),
                }
            })
        },
    )?;
    for (which, name) in [
        (H::blake2b_256, "blake2b_256"),
        (H::keccak_256, "keccak_256"),
    ] {
        linker.func_wrap_async(
            "braid",
            name,
            move |mut cx: Cx<'_>, (data, len, out): (u32, u32, u32)| {
                Box::new(async move {
                    charge(&mut cx, which, u64::from(len), 0)?;
                    let data = read(&mut cx, data, u64::from(len))?;
                    let digest = if which == H::blake2b_256 {
                        blake2b_256(&data)
                    } else {
                        keccak_256(&data)
                    };
                    write(&mut cx, out, &digest)?;
                    Ok(sentinel(host_calls::OK))
                })
            },
        )?;
    }
    linker.func_wrap_async(
        "braid",
        "ed25519_verify",
        |mut cx: Cx<'_>, (key, message, message_len, signature): (u32, u32, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::ed25519_verify, u64::from(message_len), 0)?;
                let key: [u8; 32] = read_array(&mut cx, key)?;
                let message = read(&mut cx, message, u64::from(message_len))?;
                let signature: [u8; 64] = read_array(&mut cx, signature)?;
                Ok(host_calls::ed25519_verify(&key, &message, &signature) as i64)
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "call",
        |mut cx: Cx<'_>,
         (callee, input, input_len, gas, out, out_len): (u32, u32, u32, u64, u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::call, 0, 0)?;
                let callee: [u8; 20] = read_array(&mut cx, callee)?;
                let input = read(&mut cx, input, u64::from(input_len))?;
                let Answer::Called(status, output) =
                    exchange(&mut cx, Request::Call(callee, input, gas)).await?
                else {
                    return Err(unexpected());
                };
                write(
                    &mut cx,
                    out,
                    host_calls::window(&output, 0, u64::from(out_len)),
                )?;
                Ok((status | ((output.len() as u64) << 32)) as i64)
            })
        },
    )?;
    linker.func_wrap_async(
        "braid",
        "revert",
        |mut cx: Cx<'_>, (data, len): (u32, u32)| {
            Box::new(async move {
                charge(&mut cx, H::revert, 0, 0)?;
                let data = read(&mut cx, data, u64::from(len))?;
                Err::<(), _>(exit(Exit::Revert(data)))
            })
        },
    )?;
    Ok(())
}
