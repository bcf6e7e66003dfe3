//! The operating-system layer: anonymous memory mappings (`mmap`,
//! `mprotect`, `munmap`) and the page-fault signal handler. Everything
//! `unsafe` that is not the jump into generated code lives here.

use std::cell::Cell;
use std::io;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Host page size the recompiler is built for, bytes: one host page is one
/// PVM page (GP Z_P = 4096), so `mprotect` gives each PVM page its access.
pub(crate) const HOST_PAGE: usize = 4096;

/// Page access, as `mprotect` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// `PROT_READ`.
    Read,
    /// `PROT_READ | PROT_WRITE`.
    ReadWrite,
    /// `PROT_READ | PROT_EXEC`.
    ReadExec,
}

impl Access {
    fn prot(self) -> libc::c_int {
        match self {
            Access::Read => libc::PROT_READ,
            Access::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Access::ReadExec => libc::PROT_READ | libc::PROT_EXEC,
        }
    }
}

/// An anonymous private mapping, unmapped on drop. Created inaccessible
/// and without reserving swap (`MAP_NORESERVE`): a 4 GiB guest address
/// space costs address space, not memory, until pages are touched.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: *mut u8,
    len: usize,
}

#[allow(unsafe_code, reason = "a Mapping can move between threads")]
// SAFETY: the mapping is plain memory owned by this value; nothing in it
// is tied to the thread that made it.
unsafe impl Send for Mapping {}

#[allow(unsafe_code, reason = "a shared Mapping exposes only its address")]
// SAFETY: `&Mapping` only hands out its base address and length; reads and
// writes through it are the callers' (each argues its own safety).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Reserves `len` bytes (a multiple of [`HOST_PAGE`]), inaccessible.
    ///
    /// # Errors
    /// The `mmap` error (out of address space or memory).
    pub(crate) fn reserve(len: usize) -> io::Result<Mapping> {
        Mapping::new(len, libc::PROT_NONE, libc::MAP_NORESERVE)
    }

    /// Maps `len` bytes (a multiple of [`HOST_PAGE`]) read-write with every
    /// page populated up front (`MAP_POPULATE`): for memory written in full
    /// at once, one call instead of a page fault per page.
    ///
    /// # Errors
    /// The `mmap` error (out of address space or memory).
    pub(crate) fn populated(len: usize) -> io::Result<Mapping> {
        Mapping::new(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_POPULATE)
    }

    #[allow(unsafe_code, reason = "mmap")]
    fn new(len: usize, prot: libc::c_int, flags: libc::c_int) -> io::Result<Mapping> {
        assert!(len > 0 && len.is_multiple_of(HOST_PAGE));
        // SAFETY: an anonymous private mapping at an address the kernel
        // chooses aliases nothing; the arguments are valid by construction.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The first byte.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Sets the access of `[offset, offset + len)`, both page-aligned and
    /// inside the mapping.
    ///
    /// # Errors
    /// The `mprotect` error (the kernel's mapping limit).
    #[allow(unsafe_code, reason = "mprotect")]
    pub(crate) fn protect(&self, offset: usize, len: usize, access: Access) -> io::Result<()> {
        assert!(offset.is_multiple_of(HOST_PAGE) && len.is_multiple_of(HOST_PAGE));
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range is page-aligned and inside this mapping (checked
        // above), which this value owns; changing its protection affects no
        // other object. Callers that hold references into the range do not
        // exist: guest memory is only reached through raw pointers.
        let rc = unsafe { libc::mprotect(self.ptr.add(offset).cast(), len, access.prot()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    #[allow(unsafe_code, reason = "munmap")]
    fn drop(&mut self) {
        // SAFETY: `ptr..ptr + len` is exactly the mapping `reserve` made and
        // this value owns; after drop nothing refers to it.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// What the signal handler needs of a running instance: the code it may
/// fault in and where to send it. Lives in the instance's context page;
/// [`Running`] publishes it to the handler for the duration of one run.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct FaultTarget {
    /// First byte of the module's code.
    pub code_start: u64,
    /// One past its last byte.
    pub code_end: u64,
    /// Where a fault in the code resumes: the module's fault exit.
    pub fault_exit: u64,
    /// Written by the handler: the address of the faulting instruction.
    pub fault_rip: u64,
    /// Written by the handler: the faulting data address (`si_addr`).
    pub fault_address: u64,
}

thread_local! {
    /// The instance running generated code on this thread, if any (null
    /// otherwise). Const-initialised without a destructor, so reading it in
    /// the signal handler allocates nothing (wasmtime keeps its trap state
    /// the same way).
    static RUNNING: Cell<*mut FaultTarget> = const { Cell::new(ptr::null_mut()) };
}

/// Publishes `target` to this thread's signal handler until dropped.
pub(crate) struct Running {
    previous: *mut FaultTarget,
}

impl Running {
    /// Marks `target` as the running instance of this thread.
    pub(crate) fn enter(target: *mut FaultTarget) -> Running {
        install_handlers();
        Running {
            previous: RUNNING.with(|r| r.replace(target)),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.previous));
    }
}

/// Faults redirected to a fault exit since the process started (an atomic
/// add is async-signal-safe): lets a test prove a fault came through the
/// handler.
pub(crate) static FAULTS_HANDLED: AtomicU64 = AtomicU64::new(0);

/// The handlers that were installed before ours, for chaining: SIGSEGV, SIGBUS.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Installs the SIGSEGV and SIGBUS handlers once per process.
#[allow(unsafe_code, reason = "sigaction")]
fn install_handlers() {
    PREVIOUS.get_or_init(|| {
        // SAFETY: `sigaction` is a plain C struct for which all-zero is a
        // valid value (empty mask, no flags, SIG_DFL).
        let mut previous: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
        for (i, &signal) in SIGNALS.iter().enumerate() {
            // SAFETY: as above.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handle_fault as *const () as usize;
            // SA_ONSTACK: run on the alternate stack std gives every thread;
            // SA_NODEFER: a fault inside a chained handler is not blocked.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            // SAFETY: `action.sa_mask` is a valid sigset_t owned here.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: both pointers are valid for the call; the handler is an
            // `extern "C"` function with the SA_SIGINFO signature.
            let rc = unsafe { libc::sigaction(signal, &action, &mut previous[i]) };
            assert_eq!(
                rc,
                0,
                "installing the PVM fault handler: {}",
                io::Error::last_os_error()
            );
        }
        previous
    });
}

/// The SIGSEGV/SIGBUS handler: a fault at an instruction of the code the
/// current thread's instance is running resumes at that module's fault
/// exit, which stores the guest registers and returns to the host; any
/// other fault goes to the handler that was installed before (std's stack
/// overflow report, a debugger's, or the default action).
#[allow(
    unsafe_code,
    reason = "a signal handler reads and rewrites the interrupted context"
)]
extern "C" fn handle_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let target = RUNNING.with(|r| r.get());
    if !target.is_null() {
        let context = context.cast::<libc::ucontext_t>();
        // SAFETY: the kernel passes a valid `ucontext_t` to an SA_SIGINFO
        // handler; `REG_RIP` indexes its general registers.
        let rip = unsafe { (*context).uc_mcontext.gregs[libc::REG_RIP as usize] } as u64;
        // SAFETY: `target` was published by `Running::enter` for the run in
        // progress on this thread and stays valid until `Running` drops,
        // after the generated code has returned.
        let target = unsafe { &mut *target };
        if (target.code_start..target.code_end).contains(&rip) {
            target.fault_rip = rip;
            FAULTS_HANDLED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: `info` is valid for an SA_SIGINFO handler.
            target.fault_address = unsafe { (*info).si_addr() } as u64;
            // SAFETY: as above; the fault exit is code of the same module
            // that expects exactly the interrupted registers.
            unsafe {
                (*context).uc_mcontext.gregs[libc::REG_RIP as usize] = target.fault_exit as i64;
            }
            return;
        }
    }
    chain(signal, info, context);
}

/// Passes a fault that is not ours to the previous handler (as wasmtime
/// does): call it, or restore it and return so the faulting instruction
/// runs again under it (the default action then ends the process).
#[allow(
    unsafe_code,
    reason = "calls or reinstalls the previous signal handler"
)]
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let index = SIGNALS.iter().position(|&s| s == signal).unwrap_or(0);
    let previous = &previous[index];
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // SAFETY: reinstalls the exact action that was there before ours.
        unsafe { libc::sigaction(signal, previous, ptr::null_mut()) };
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature and expects these arguments.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signal, info, context);
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal only.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        f(signal);
    }
}
