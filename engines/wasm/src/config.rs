//! The deterministic wasmtime configuration and Braid's limits (RFC 0004
//! "Configuration"). Everything that can change an outcome is fixed here;
//! the cache key of a compiled module includes a hash of it.

use wasmtime::{
    Config, InstanceAllocationStrategy, OperatorCost, OptLevel, PoolingAllocationConfig,
    VariableOperatorCost, WasmFeatures,
};

/// Braid's limits on modules and on one invocation.
pub mod limits {
    /// Largest module, bytes (512 KiB): bounds parse, validation and
    /// compile time together with the per-function limits.
    pub const MAX_CODE_SIZE: usize = 512 * 1024;
    /// Largest function body, bytes (64 KiB). Cranelift's time and memory
    /// grow faster than linearly in one function; a bigger body is a
    /// compile-time bomb, refused before compiling.
    pub const MAX_FUNCTION_SIZE: usize = 64 * 1024;
    /// Most locals of one function, parameters included. A local
    /// declaration is a few bytes for any count, so this is checked apart
    /// from the body size.
    pub const MAX_LOCALS: u64 = 4096;
    /// Most functions (imported and defined).
    pub const MAX_FUNCTIONS: u64 = 10_000;
    /// Most globals.
    pub const MAX_GLOBALS: u64 = 1024;
    /// Most table elements (initial size of the one table).
    pub const MAX_TABLE_ELEMENTS: u64 = 4096;
    /// Most data and element segments, each.
    pub const MAX_SEGMENTS: u64 = 1024;
    /// WebAssembly page, bytes.
    pub const PAGE: u64 = 64 * 1024;
    /// Largest linear memory, bytes (16 MiB, 256 pages). A module whose
    /// initial memory is larger is refused at deploy; a `memory.grow` past
    /// it faults the invocation (`Fault(Engine { code: 3 })`).
    pub const MAX_MEMORY: u64 = 16 * 1024 * 1024;
    /// Stack slots a guest may hold in flight (64 Ki): the deciding,
    /// deterministic bound on recursion. Every defined function is
    /// weighed at deploy ([`FRAME_SLOTS`] + parameters + declared locals +
    /// its largest operand-stack height, from the validator) and entered
    /// through a wrapper that adds its weight to a counter and faults
    /// (`Fault(Engine { code: 4 })`) when the sum of the weights of the
    /// frames in flight would pass this. Independent of Cranelift and of
    /// the target; RFC 0004 "Configuration", stack.
    pub const MAX_STACK_SLOTS: u32 = 64 * 1024;
    /// Slots each frame costs on top of its parameters, locals and operand
    /// stack: return address, frame pointer, saved registers and the
    /// wrapper's own frame.
    pub const FRAME_SLOTS: u32 = 8;
    /// Native stack the guest may use, bytes (2.5 MiB), measured from the
    /// invocation's entry on its own fiber stack: a backstop only, sized so
    /// that [`MAX_STACK_SLOTS`] always decides first for any module Braid
    /// accepts. The arithmetic: a counted slot (parameter, local, operand)
    /// is at most 8 bytes (no SIMD); allow 32 native bytes per slot (a
    /// spill slot, a copy, an outgoing argument, alignment) and 256 bytes
    /// per frame in flight for the wrapper's and the body's fixed frame
    /// parts (return addresses, frame pointers, callee-saved registers),
    /// that is 32 bytes per [`FRAME_SLOTS`] slot. The frames in flight weigh
    /// at most [`MAX_STACK_SLOTS`] together, so they use at most
    /// 32 B × 64 Ki = 2 MiB; the 512 KiB above that covers the entry
    /// trampolines and the wrapper that traps. Passing it still faults
    /// with the same code.
    pub const MAX_WASM_STACK: usize = 32 * MAX_STACK_SLOTS as usize + 512 * 1024;
    /// Each invocation's fiber stack, bytes (2.75 MiB): the guest's
    /// [`MAX_WASM_STACK`] plus room for the host functions that run on it.
    /// Pool stacks are reserved virtual memory, touched only as used.
    pub const FIBER_STACK: usize = MAX_WASM_STACK + 256 * 1024;
    /// Fuel per page `memory.grow` asks for (the largest per-unit cost the
    /// wasmtime table holds; a page is 64 KiB the host zeroes).
    pub const GROW_FUEL_PER_PAGE: u8 = 255;
    /// Fuel per byte of `memory.copy`, `memory.fill` and `memory.init`.
    pub const BULK_FUEL_PER_BYTE: u8 = 1;
    /// Fuel charged before instantiation: a base plus
    /// [`GROW_FUEL_PER_PAGE`] per initial memory page.
    pub const INSTANTIATE_FUEL: u64 = 1000;
    /// Instances (hence memories and fiber stacks) the pool holds at once:
    /// twice the kernel's call depth.
    pub const POOL_INSTANCES: u32 = 2 * braid_core::MAX_CALL_DEPTH as u32;
    /// Watchdog tick, milliseconds.
    pub const WATCHDOG_TICK_MS: u64 = 100;
    /// Watchdog budget of one invocation, ticks (60 s). Only a stuck node
    /// reaches it: fuel ends every guest long before.
    pub const WATCHDOG_TICKS: u64 = 600;
}

/// The WebAssembly features Braid accepts (RFC 0004 Guest ABI): the MVP
/// (with floats: NaNs are canonicalised), mutable globals, sign extension,
/// bulk memory, multi-value, and the overlong `call_indirect` table-index
/// encoding LLVM emits (an encoding, not a feature).
pub fn features() -> WasmFeatures {
    WasmFeatures::FLOATS
        | WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::CALL_INDIRECT_OVERLONG
}

/// Proposals probed, in order, to name the one a refused module uses.
pub(crate) const PROBED: &[(WasmFeatures, &str)] = &[
    (WasmFeatures::THREADS, "threads"),
    (WasmFeatures::SIMD, "simd"),
    (
        WasmFeatures::SIMD.union(WasmFeatures::RELAXED_SIMD),
        "relaxed-simd",
    ),
    (WasmFeatures::MEMORY64, "memory64"),
    (WasmFeatures::MULTI_MEMORY, "multi-memory"),
    (WasmFeatures::REFERENCE_TYPES, "reference-types"),
    (
        WasmFeatures::SATURATING_FLOAT_TO_INT,
        "saturating-float-to-int",
    ),
    (WasmFeatures::TAIL_CALL, "tail-call"),
    (WasmFeatures::EXTENDED_CONST, "extended-const"),
    (WasmFeatures::WIDE_ARITHMETIC, "wide-arithmetic"),
    (WasmFeatures::CUSTOM_PAGE_SIZES, "custom-page-sizes"),
    (
        WasmFeatures::EXCEPTIONS.union(WasmFeatures::REFERENCE_TYPES),
        "exceptions",
    ),
    (
        WasmFeatures::GC
            .union(WasmFeatures::GC_TYPES)
            .union(WasmFeatures::REFERENCE_TYPES)
            .union(WasmFeatures::FUNCTION_REFERENCES),
        "gc",
    ),
];

/// Fuel per operator: wasmtime's defaults (1 per operator; 0 for `nop`,
/// `drop`, `block`, `loop`, `end`, `else`, `return`, `unreachable`) plus
/// proportional bulk-memory and `memory.grow` costs.
pub fn operator_cost() -> OperatorCost {
    let mut cost = OperatorCost::new();
    cost.variable = VariableOperatorCost {
        memory_copy_per_byte: limits::BULK_FUEL_PER_BYTE,
        memory_fill_per_byte: limits::BULK_FUEL_PER_BYTE,
        memory_init_per_byte: limits::BULK_FUEL_PER_BYTE,
        memory_grow_per_page: limits::GROW_FUEL_PER_PAGE,
        ..VariableOperatorCost::new()
    };
    cost
}

/// The wasmtime [`Config`] of every Braid WASM engine.
pub fn wasmtime_config() -> Config {
    let mut config = Config::new();
    // Features: exactly Braid's set.
    config.wasm_features(WasmFeatures::all(), false);
    config.wasm_features(features(), true);
    // Determinism.
    config.consume_fuel(true);
    config.operator_cost(operator_cost());
    config.cranelift_nan_canonicalization(true);
    config.relaxed_simd_deterministic(true);
    config.max_wasm_stack(limits::MAX_WASM_STACK);
    config.async_stack_size(limits::FIBER_STACK);
    // The watchdog (never decides an outcome).
    config.epoch_interruption(true);
    // Compile: full optimisation, on the calling thread (the crate is built
    // without `parallel-compilation`), no backtraces (outcomes carry none).
    config.cranelift_opt_level(OptLevel::Speed);
    config.wasm_backtrace_max_frames(None);
    // Instances come from a pool: memory, tables and fiber stacks reserved once.
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(limits::POOL_INSTANCES)
        .total_memories(limits::POOL_INSTANCES)
        .total_tables(limits::POOL_INSTANCES)
        .total_stacks(limits::POOL_INSTANCES)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(limits::MAX_TABLE_ELEMENTS as usize)
        .max_memory_size(limits::MAX_MEMORY as usize);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}
