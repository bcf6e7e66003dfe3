/*
 * braid_pvm.h — host calls of Braid's PVM engine (rfcs/0003) for C contracts.
 *
 * Freestanding, no libc. Include it from exactly ONE translation unit per
 * contract (every contract here is a single .c file): it defines the host-call
 * metadata records, the entry-point export and memcpy/memset/memmove/memcmp.
 *
 * How a host call is encoded
 * --------------------------
 * polkavm-linker (0.30) turns the RISC-V custom-0 word `0x0000000b` followed
 * by an 8-byte pointer to an "extern metadata" record into one PVM
 * `ecalli n` instruction. The record (version 2) carries an explicit import
 * INDEX; when every import of a program has one, the linker uses that index
 * verbatim as the `ecalli` immediate. We give each host call its rfcs/0003 id,
 * so `braid_storage_read` becomes `ecalli 4`, `braid_call` `ecalli 13`, etc.
 *
 * Record layout (little endian, packed):
 *   u8 version = 2 | u32 flags = 0 | u32 symbol length | u64 symbol pointer |
 *   u8 input regs | u8 output regs | u8 has_index = 1 | u32 index
 *
 * Registers: polkavm maps RISC-V ra,sp,t0,t1,t2,s0,s1,a0..a5 to PVM r0..r12,
 * so the arguments a0..a5 are r7..r12 and the results a0 (a1) are r7 (r8),
 * exactly the rfcs/0003 convention.
 *
 * Entry point
 * -----------
 * BRAID_ENTRY(fn) exports `fn` under the name "call"; the build tool puts a
 * dispatch table in front of the code so that pc 0 jumps to it. `fn` has the
 * prototype `braid_out fn(const uint8_t *input, uint64_t len)`: the input
 * arrives in a0/a1 (r7/r8), the 16-byte struct comes back in a0/a1 (r7/r8),
 * and `ret` jumps to ra = r0 = 0xFFFF0000, which halts with output
 * memory[r7, r7 + r8).
 */
#ifndef BRAID_PVM_H
#define BRAID_PVM_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned long size_t;
typedef unsigned long uintptr_t;

_Static_assert(sizeof(uint64_t) == 8, "LP64 expected");
_Static_assert(sizeof(void *) == 8, "LP64 expected");

/* ---- result sentinels (GP Appendix B.5) ---- */
#define BRAID_OK   ((uint64_t)0)
#define BRAID_NONE ((uint64_t)-1) /* 2^64 - 1 */
#define BRAID_WHAT ((uint64_t)-2) /* 2^64 - 2 */
#define BRAID_FULL ((uint64_t)-5) /* 2^64 - 5 */
#define BRAID_WHO  ((uint64_t)-4) /* 2^64 - 4: no such instance (rfcs/0010) */
#define BRAID_HUH  ((uint64_t)-9) /* 2^64 - 9: refused by a cap rule (rfcs/0010) */

/* ---- `call` statuses ---- */
#define BRAID_CALL_HALT   0
#define BRAID_CALL_REVERT 1
#define BRAID_CALL_FAULT  2
#define BRAID_CALL_YIELDED 3 /* a yield from the subtree above names this caller (rfcs/0010) */

/* ---- slot kinds (slot_kind, rfcs/0010) ---- */
#define BRAID_CAP_EMPTY    0
#define BRAID_CAP_DATA     1
#define BRAID_CAP_IMAGE    2
#define BRAID_CAP_CNODE    3
#define BRAID_CAP_INSTANCE 4
#define BRAID_CAP_YIELDREF 5

/* ---- host-call ids (rfcs/0003) ---- */
#define BRAID_HC_GAS              0
#define BRAID_HC_INPUT            1
#define BRAID_HC_CALLER           2
#define BRAID_HC_SELF_IDENTITY    3
#define BRAID_HC_STORAGE_READ     4
#define BRAID_HC_STORAGE_WRITE    5
#define BRAID_HC_STORAGE_DELETE   6
#define BRAID_HC_EVM_STORAGE_READ 7
#define BRAID_HC_STATE_READ       8
#define BRAID_HC_LOG              9
#define BRAID_HC_BLAKE2B_256      10
#define BRAID_HC_KECCAK_256       11
#define BRAID_HC_ED25519_VERIFY   12
#define BRAID_HC_CALL             13
#define BRAID_HC_REVERT           14
/* capabilities and YIELD/RESUME (rfcs/0010) */
#define BRAID_HC_CALL_CAP         15
#define BRAID_HC_YIELD            16
#define BRAID_HC_SET_IMAGE        17
#define BRAID_HC_DERIVE_SPAWN     18
#define BRAID_HC_IMAGE_MAKE       19
#define BRAID_HC_SAME_TYPE        20
#define BRAID_HC_TYPE_OF          21
#define BRAID_HC_DATA_READ        22
#define BRAID_HC_DATA_MINT        23
#define BRAID_HC_RESERVED_OPEN    24
#define BRAID_HC_RESERVED_SAVE    25
#define BRAID_HC_INSTANCE_CAP     26
#define BRAID_HC_SLOT_COPY        27
#define BRAID_HC_SLOT_MOVE        28
#define BRAID_HC_SLOT_DROP        29
#define BRAID_HC_SLOT_KIND        30
#define BRAID_HC_CNODE_PACK       31
#define BRAID_HC_CNODE_UNPACK     32
#define BRAID_HC_YIELDREF_MINT    33
#define BRAID_HC_RESUME           34
#define BRAID_HC_RESUME_FAULT     35
#define BRAID_HC_RESERVED_DROP_RESUME 36

#define BRAID_STR_(x) #x
#define BRAID_STR(x) BRAID_STR_(x)

/* One metadata record per host call, in the non-loaded .polkavm_metadata
 * section. The symbol name is informative only; the index is what counts. */
#define BRAID_HOSTCALL_META(name, id, nin, nout)                               \
    __asm__(".pushsection .polkavm_metadata,\"\",@progbits\n"                \
            "braid_meta_" #name ":\n"                                         \
            ".byte 2\n"                                                       \
            ".4byte 0\n"                                                      \
            ".4byte braid_sym_end_" #name " - braid_sym_" #name "\n"          \
            ".8byte braid_sym_" #name "\n"                                    \
            ".byte " BRAID_STR(nin) "\n"                                      \
            ".byte " BRAID_STR(nout) "\n"                                     \
            ".byte 1\n"                                                       \
            ".4byte " BRAID_STR(id) "\n"                                      \
            "braid_sym_" #name ":\n"                                          \
            ".ascii \"braid_" #name "\"\n"                                    \
            "braid_sym_end_" #name ":\n"                                      \
            ".popsection\n")

BRAID_HOSTCALL_META(gas, 0, 0, 1);
BRAID_HOSTCALL_META(input, 1, 3, 1);
BRAID_HOSTCALL_META(caller, 2, 1, 1);
BRAID_HOSTCALL_META(self_identity, 3, 1, 1);
BRAID_HOSTCALL_META(storage_read, 4, 5, 1);
BRAID_HOSTCALL_META(storage_write, 5, 4, 1);
BRAID_HOSTCALL_META(storage_delete, 6, 2, 1);
BRAID_HOSTCALL_META(evm_storage_read, 7, 3, 1);
BRAID_HOSTCALL_META(state_read, 8, 6, 1);
BRAID_HOSTCALL_META(log, 9, 4, 1);
BRAID_HOSTCALL_META(blake2b_256, 10, 3, 1);
BRAID_HOSTCALL_META(keccak_256, 11, 3, 1);
BRAID_HOSTCALL_META(ed25519_verify, 12, 4, 1);
BRAID_HOSTCALL_META(call, 13, 6, 2);
BRAID_HOSTCALL_META(revert, 14, 2, 1);
BRAID_HOSTCALL_META(call_cap, 15, 6, 2);
BRAID_HOSTCALL_META(yield, 16, 1, 1);
BRAID_HOSTCALL_META(set_image, 17, 1, 1);
BRAID_HOSTCALL_META(derive_spawn, 18, 2, 1);
BRAID_HOSTCALL_META(image_make, 19, 3, 1);
BRAID_HOSTCALL_META(same_type, 20, 2, 1);
BRAID_HOSTCALL_META(type_of, 21, 2, 1);
BRAID_HOSTCALL_META(data_read, 22, 4, 1);
BRAID_HOSTCALL_META(data_mint, 23, 4, 1);
BRAID_HOSTCALL_META(reserved_open, 24, 0, 1);
BRAID_HOSTCALL_META(reserved_save, 25, 0, 1);
BRAID_HOSTCALL_META(instance_cap, 26, 3, 1);
BRAID_HOSTCALL_META(slot_copy, 27, 2, 1);
BRAID_HOSTCALL_META(slot_move, 28, 2, 1);
BRAID_HOSTCALL_META(slot_drop, 29, 1, 1);
BRAID_HOSTCALL_META(slot_kind, 30, 1, 2);
BRAID_HOSTCALL_META(cnode_pack, 31, 3, 1);
BRAID_HOSTCALL_META(cnode_unpack, 32, 2, 1);
BRAID_HOSTCALL_META(yieldref_mint, 33, 1, 1);
BRAID_HOSTCALL_META(resume, 34, 6, 2);
BRAID_HOSTCALL_META(resume_fault, 35, 6, 2);
BRAID_HOSTCALL_META(reserved_drop_resume, 36, 0, 1);

/* The instruction word the linker rewrites into `ecalli <index>`. */
#define BRAID_ECALLI(name) \
    ".insn r 0xb, 0, 0, zero, zero, zero\n.8byte braid_meta_" #name "\n"

/*
 * polkavm-linker treats an `ecalli` like a call under the RISC-V calling
 * convention: it assumes t0-t2 and a0-a5 are clobbered (only sp and s0/s1/ra
 * survive) and optimises the surrounding code on that assumption. The asm
 * therefore marks all of a0-a5 as in/out and t0-t2 as clobbered, whatever the
 * host really writes (rfcs/0003: only r7, and r8 for `call`).
 */
#define BRAID_DEFINE_RAW(name)                                                   \
    static inline uint64_t braid_raw_##name(uint64_t x0, uint64_t x1, uint64_t x2, \
                                            uint64_t x3, uint64_t x4, uint64_t x5, \
                                            uint64_t *r8) {                     \
        register uint64_t a0 __asm__("a0") = x0;                                \
        register uint64_t a1 __asm__("a1") = x1;                                \
        register uint64_t a2 __asm__("a2") = x2;                                \
        register uint64_t a3 __asm__("a3") = x3;                                \
        register uint64_t a4 __asm__("a4") = x4;                                \
        register uint64_t a5 __asm__("a5") = x5;                                \
        __asm__ volatile(BRAID_ECALLI(name)                                     \
                         : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5) \
                         :                                                      \
                         : "t0", "t1", "t2", "memory");                         \
        if (r8) *r8 = a1;                                                       \
        return a0;                                                              \
    }

BRAID_DEFINE_RAW(gas)
BRAID_DEFINE_RAW(input)
BRAID_DEFINE_RAW(caller)
BRAID_DEFINE_RAW(self_identity)
BRAID_DEFINE_RAW(storage_read)
BRAID_DEFINE_RAW(storage_write)
BRAID_DEFINE_RAW(storage_delete)
BRAID_DEFINE_RAW(evm_storage_read)
BRAID_DEFINE_RAW(state_read)
BRAID_DEFINE_RAW(log)
BRAID_DEFINE_RAW(blake2b_256)
BRAID_DEFINE_RAW(keccak_256)
BRAID_DEFINE_RAW(ed25519_verify)
BRAID_DEFINE_RAW(call)
BRAID_DEFINE_RAW(revert)
BRAID_DEFINE_RAW(call_cap)
BRAID_DEFINE_RAW(yield)
BRAID_DEFINE_RAW(set_image)
BRAID_DEFINE_RAW(derive_spawn)
BRAID_DEFINE_RAW(image_make)
BRAID_DEFINE_RAW(same_type)
BRAID_DEFINE_RAW(type_of)
BRAID_DEFINE_RAW(data_read)
BRAID_DEFINE_RAW(data_mint)
BRAID_DEFINE_RAW(reserved_open)
BRAID_DEFINE_RAW(reserved_save)
BRAID_DEFINE_RAW(instance_cap)
BRAID_DEFINE_RAW(slot_copy)
BRAID_DEFINE_RAW(slot_move)
BRAID_DEFINE_RAW(slot_drop)
BRAID_DEFINE_RAW(slot_kind)
BRAID_DEFINE_RAW(cnode_pack)
BRAID_DEFINE_RAW(cnode_unpack)
BRAID_DEFINE_RAW(yieldref_mint)
BRAID_DEFINE_RAW(resume)
BRAID_DEFINE_RAW(resume_fault)
BRAID_DEFINE_RAW(reserved_drop_resume)

#define BRAID_P(p) ((uint64_t)(uintptr_t)(p))

/* 0 gas: gas left after this call. */
static inline uint64_t braid_gas(void) { return braid_raw_gas(0, 0, 0, 0, 0, 0, 0); }

/* 1 input: copies input[offset..] (at most len bytes) to buf; returns the input length. */
static inline uint64_t braid_input(void *buf, uint64_t offset, uint64_t len) {
    return braid_raw_input(BRAID_P(buf), offset, len, 0, 0, 0, 0);
}

/* 2 caller: writes the 20-byte identity of the caller. */
static inline uint64_t braid_caller(uint8_t out[20]) {
    return braid_raw_caller(BRAID_P(out), 0, 0, 0, 0, 0, 0);
}

/* 3 self_identity: writes the 20-byte identity of the running instance. */
static inline uint64_t braid_self_identity(uint8_t out[20]) {
    return braid_raw_self_identity(BRAID_P(out), 0, 0, 0, 0, 0, 0);
}

/* 4 storage_read: returns the value length or BRAID_NONE; copies value[offset..], at most len bytes. */
static inline uint64_t braid_storage_read(const void *key, uint64_t key_len, void *buf,
                                          uint64_t offset, uint64_t len) {
    return braid_raw_storage_read(BRAID_P(key), key_len, BRAID_P(buf), offset, len, 0, 0);
}

/* 5 storage_write: BRAID_OK or BRAID_FULL. */
static inline uint64_t braid_storage_write(const void *key, uint64_t key_len, const void *value,
                                           uint64_t value_len) {
    return braid_raw_storage_write(BRAID_P(key), key_len, BRAID_P(value), value_len, 0, 0, 0);
}

/* 6 storage_delete: BRAID_OK or BRAID_FULL. */
static inline uint64_t braid_storage_delete(const void *key, uint64_t key_len) {
    return braid_raw_storage_delete(BRAID_P(key), key_len, 0, 0, 0, 0, 0);
}

/* 7 evm_storage_read: reads the 32-byte big-endian slot of an EVM account (unset = zero). */
static inline uint64_t braid_evm_storage_read(const uint8_t address[20], const uint8_t slot[32],
                                              uint8_t out[32]) {
    return braid_raw_evm_storage_read(BRAID_P(address), BRAID_P(slot), BRAID_P(out), 0, 0, 0, 0);
}

/* 8 state_read: any engine's committed state; value length or BRAID_NONE; copies at most len bytes. */
static inline uint64_t braid_state_read(uint64_t engine, const uint8_t identity[20], const void *key,
                                        uint64_t key_len, void *buf, uint64_t len) {
    return braid_raw_state_read(engine, BRAID_P(identity), BRAID_P(key), key_len, BRAID_P(buf), len, 0);
}

/* 9 log: topics are 32 bytes each, at most 4. */
static inline uint64_t braid_log(const void *topics, uint64_t topic_count, const void *data,
                                 uint64_t data_len) {
    return braid_raw_log(BRAID_P(topics), topic_count, BRAID_P(data), data_len, 0, 0, 0);
}

/* 10 blake2b_256 */
static inline uint64_t braid_blake2b_256(const void *data, uint64_t len, uint8_t out[32]) {
    return braid_raw_blake2b_256(BRAID_P(data), len, BRAID_P(out), 0, 0, 0, 0);
}

/* 11 keccak_256 */
static inline uint64_t braid_keccak_256(const void *data, uint64_t len, uint8_t out[32]) {
    return braid_raw_keccak_256(BRAID_P(data), len, BRAID_P(out), 0, 0, 0, 0);
}

/* 12 ed25519_verify: 0 valid, 1 invalid. */
static inline uint64_t braid_ed25519_verify(const uint8_t public_key[32], const void *message,
                                            uint64_t message_len, const uint8_t signature[64]) {
    return braid_raw_ed25519_verify(BRAID_P(public_key), BRAID_P(message), message_len,
                                    BRAID_P(signature), 0, 0, 0);
}

/* 13 call: returns the status (BRAID_CALL_*); *out_len_total (if not null) gets
 * the callee's full output length (at most out_len bytes are copied to out). */
static inline uint64_t braid_call(const uint8_t callee[20], const void *input, uint64_t input_len,
                                  uint64_t gas, void *out, uint64_t out_len,
                                  uint64_t *out_len_total) {
    uint64_t r8 = 0;
    uint64_t status = braid_raw_call(BRAID_P(callee), BRAID_P(input), input_len, gas, BRAID_P(out),
                                     out_len, &r8);
    if (out_len_total) *out_len_total = r8;
    return status;
}

/* 14 revert: ends the invocation with Outcome::Revert(data). Never returns. */
static inline __attribute__((noreturn)) void braid_revert(const void *data, uint64_t len) {
    braid_raw_revert(BRAID_P(data), len, 0, 0, 0, 0, 0);
    __builtin_trap(); /* not reached: the host ends the invocation */
}

/* ---- capabilities and YIELD/RESUME (rfcs/0010) ----
 * Caps live in slots (0 scratch: travels down on call, up on halt, to the
 * handler on yield and back on resume; 1..0xEF persistent; 0xF0..0xFF
 * ephemeral). Guests name slots, never cap bytes. Statuses: BRAID_OK,
 * BRAID_NONE (empty slot), BRAID_WHAT (bad argument, wrong kind), BRAID_WHO
 * (no such instance), BRAID_FULL (size), BRAID_HUH (refused by a cap rule). */

/* 15 call_cap: calls the Instance cap in `slot` at `endpoint` (the callee's r11);
 * status as braid_call, or BRAID_NONE / BRAID_WHAT. */
static inline uint64_t braid_call_cap(uint8_t slot, uint8_t endpoint, const void *input,
                                      uint64_t input_len, uint64_t gas, void *out,
                                      uint64_t out_len, uint64_t *out_len_total) {
    uint64_t r8 = 0;
    uint64_t status = braid_raw_call_cap((uint64_t)slot | ((uint64_t)endpoint << 8), BRAID_P(input),
                                         input_len, gas, BRAID_P(out), out_len, &r8);
    if (out_len_total) *out_len_total = r8;
    return status;
}

/* 16 yield: to the invocation named by the YieldRef in `slot`; slot 0 goes up
 * as the payload. BRAID_OK when resumed (slot 0 = the handler's answer),
 * BRAID_WHAT / BRAID_HUH if refused. */
static inline uint64_t braid_yield(uint8_t slot) { return braid_raw_yield(slot, 0, 0, 0, 0, 0, 0); }

/* 17 set_image: the Image cap in `slot` runs from the next invocation on. */
static inline uint64_t braid_set_image(uint8_t slot) {
    return braid_raw_set_image(slot, 0, 0, 0, 0, 0, 0);
}

/* 18 derive_spawn: a new instance of the Image in `image`; its Instance cap into `dst`. */
static inline uint64_t braid_derive_spawn(uint8_t image, uint8_t dst) {
    return braid_raw_derive_spawn(image, dst, 0, 0, 0, 0, 0);
}

/* 19 image_make: code from the Data cap in `code`, pinned slots from the CNode in
 * `pinned` (BRAID_NO_SLOT: none), the Image cap into `dst`. */
#define BRAID_NO_SLOT ((uint64_t)-1)
static inline uint64_t braid_image_make(uint8_t code, uint64_t pinned, uint8_t dst) {
    return braid_raw_image_make(code, pinned, dst, 0, 0, 0, 0);
}

/* 20 same_type: 1 if the Instance caps in `a` and `b` have the same type chain, 0 if not. */
static inline uint64_t braid_same_type(uint8_t a, uint8_t b) {
    return braid_raw_same_type(a, b, 0, 0, 0, 0, 0);
}

/* 21 type_of: writes the 32-byte type chain of the Instance cap in `slot`. */
static inline uint64_t braid_type_of(uint8_t slot, uint8_t out[32]) {
    return braid_raw_type_of(slot, BRAID_P(out), 0, 0, 0, 0, 0);
}

/* 22 data_read: copies bytes [offset, offset + len) of the Data cap in `slot`
 * (zero-padded to its size); returns the size. */
static inline uint64_t braid_data_read(uint8_t slot, void *out, uint64_t offset, uint64_t len) {
    return braid_raw_data_read(slot, BRAID_P(out), offset, len, 0, 0, 0);
}

/* 23 data_mint: a Data cap of bytes zero-padded to `size` (0: len) into `dst`. */
static inline uint64_t braid_data_mint(const void *bytes, uint64_t len, uint64_t size, uint8_t dst) {
    return braid_raw_data_mint(BRAID_P(bytes), len, size, dst, 0, 0, 0);
}

/* 26 instance_cap: an Instance cap of (engine, identity) into `dst`. */
static inline uint64_t braid_instance_cap(uint64_t engine, const uint8_t identity[20], uint8_t dst) {
    return braid_raw_instance_cap(engine, BRAID_P(identity), dst, 0, 0, 0, 0);
}

/* 27-29 slot_copy, slot_move, slot_drop. */
static inline uint64_t braid_slot_copy(uint8_t src, uint8_t dst) {
    return braid_raw_slot_copy(src, dst, 0, 0, 0, 0, 0);
}
static inline uint64_t braid_slot_move(uint8_t src, uint8_t dst) {
    return braid_raw_slot_move(src, dst, 0, 0, 0, 0, 0);
}
static inline uint64_t braid_slot_drop(uint8_t slot) {
    return braid_raw_slot_drop(slot, 0, 0, 0, 0, 0, 0);
}

/* 30 slot_kind: BRAID_CAP_*; *size (if not null) gets a Data cap's size. */
static inline uint64_t braid_slot_kind(uint8_t slot, uint64_t *size) {
    uint64_t r8 = 0;
    uint64_t kind = braid_raw_slot_kind(slot, 0, 0, 0, 0, 0, &r8);
    if (size) *size = r8;
    return kind;
}

/* 31 cnode_pack: slots [first, first + count) into a CNode in `dst`. */
static inline uint64_t braid_cnode_pack(uint8_t first, uint64_t count, uint8_t dst) {
    return braid_raw_cnode_pack(first, count, dst, 0, 0, 0, 0);
}

/* 32 cnode_unpack: the CNode in `cnode` into slots from `first` on. */
static inline uint64_t braid_cnode_unpack(uint8_t cnode, uint8_t first) {
    return braid_raw_cnode_unpack(cnode, first, 0, 0, 0, 0, 0);
}

/* 33 yieldref_mint: a YieldRef naming this invocation into `dst` (0 or 0xF0..0xFF). */
static inline uint64_t braid_yieldref_mint(uint8_t dst) {
    return braid_raw_yieldref_mint(dst, 0, 0, 0, 0, 0, 0);
}

/* 34 resume / 35 resume_fault: as handler of a yield, wake (or discard) the
 * yielder; slot 0 goes down. Returns like braid_call, later: the status of the
 * entry above this invocation when it ends, or BRAID_CALL_YIELDED. */
static inline uint64_t braid_resume(void *out, uint64_t out_len, uint64_t *out_len_total) {
    uint64_t r8 = 0;
    uint64_t status = braid_raw_resume(0, 0, 0, 0, BRAID_P(out), out_len, &r8);
    if (out_len_total) *out_len_total = r8;
    return status;
}
static inline uint64_t braid_resume_fault(void *out, uint64_t out_len, uint64_t *out_len_total) {
    uint64_t r8 = 0;
    uint64_t status = braid_raw_resume_fault(0, 0, 0, 0, BRAID_P(out), out_len, &r8);
    if (out_len_total) *out_len_total = r8;
    return status;
}

/* 24, 25, 36: reserved (HOST_OPEN, HOST_SAVE, DROP_RESUME); always BRAID_WHAT. */
static inline uint64_t braid_reserved_open(void) {
    return braid_raw_reserved_open(0, 0, 0, 0, 0, 0, 0);
}
static inline uint64_t braid_reserved_save(void) {
    return braid_raw_reserved_save(0, 0, 0, 0, 0, 0, 0);
}
static inline uint64_t braid_reserved_drop_resume(void) {
    return braid_raw_reserved_drop_resume(0, 0, 0, 0, 0, 0, 0);
}

/* ---- entry point ---- */

typedef struct braid_out {
    uint64_t ptr; /* -> r7 */
    uint64_t len; /* -> r8 */
} braid_out;

static inline braid_out braid_return(const void *ptr, uint64_t len) {
    braid_out o = {(uint64_t)(uintptr_t)ptr, len};
    return o;
}

/* Export metadata (version 1: no index) and the .polkavm_exports entry
 * `u8 1 | u64 -> metadata | u64 -> code`. Exported under the name "call". */
#define BRAID_ENTRY(fn)                                                        \
    __asm__(".pushsection .polkavm_metadata,\"\",@progbits\n"                \
            "braid_export_meta:\n"                                            \
            ".byte 1\n"                                                       \
            ".4byte 0\n"                                                      \
            ".4byte 4\n"                                                      \
            ".8byte braid_export_sym\n"                                       \
            ".byte 2\n"                                                       \
            ".byte 2\n"                                                       \
            "braid_export_sym:\n"                                             \
            ".ascii \"call\"\n"                                               \
            ".popsection\n"                                                   \
            ".pushsection .polkavm_exports,\"\",@progbits\n"                 \
            ".byte 1\n"                                                       \
            ".8byte braid_export_meta\n"                                      \
            ".8byte " #fn "\n"                                                \
            ".popsection\n");                                                 \
    __attribute__((used)) braid_out fn(const uint8_t *input, uint64_t len)

/* Minimum stack size in bytes (the tool also enforces its own minimum). */
#define BRAID_MIN_STACK_SIZE(bytes)                                            \
    __asm__(".pushsection .polkavm_min_stack_size,\"\",@progbits\n"          \
            ".4byte " BRAID_STR(bytes) "\n"                                   \
            ".popsection\n")

/* ---- freestanding helpers (the compiler may emit calls to these) ---- */

#define BRAID_NOBUILTIN __attribute__((used, no_builtin, noinline))

#include "braid_freestanding.h" /* engines/common/include */

static inline uint64_t braid_load_u64le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline void braid_store_u64le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif /* BRAID_PVM_H */
