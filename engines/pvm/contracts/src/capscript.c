/*
 * capscript.c — runs a script of cap, slot 0 and YIELD/RESUME host calls
 * (rfcs/0010) from its input; used to test the kernel's cap rules through
 * real PVM host calls.
 *
 * Input: a sequence of ops. Each op appends its answer (r7, u64 little
 * endian) to a result list; at the end the list is stored under storage key
 * "r" and returned. Ops (one byte, then the arguments):
 *   0x01 k_len k.. v_len v..        storage_write
 *   0x02 slot                       slot_kind
 *   0x03 len bytes.. size dst       data_mint (size one byte, 0 = len)
 *   0x04 src dst                    slot_copy
 *   0x05 src dst                    slot_move
 *   0x06 slot                       slot_drop
 *   0x07 dst                        yieldref_mint
 *   0x08 id[20] in_len in..         call (gas: all left)
 *   0x09 slot endpoint in_len in..  call_cap (gas: all left)
 *   0x0A slot                       yield
 *   0x0B                            resume
 *   0x0C                            resume_fault
 *   0x0D                            the reserved ids 24, 25, 36 (three answers)
 *   0x0E engine id[20] dst          instance_cap
 *   0x0F slot                       data_read: the size, then bytes 0..8 as u64
 *   0x10                            trap
 *   0x11 a b                        same_type
 *   0x12 first count dst            cnode_pack
 *   0x13 cnode first                cnode_unpack
 *   0x14 code pinned dst            image_make (pinned 0xFF: no pinned slots)
 *   0x15 image dst                  derive_spawn
 *   0x16 slot                       set_image
 *   0x17 len_lo len_hi bytes.. dst  data_mint of up to 65,535 bytes (size: len)
 *   0x18 target[4]                  burn gas until at most target (u32 LE) is left; answers the gas left
 *   0x19                            gas left
 *   0x1A k_len k..                  increment the u64 LE under storage key k (absent: 0); answers the new value
 * A malformed script reverts "bad script".
 *
 * Host calls: storage_write(5), gas(0), call(13), revert(14), 15-36.
 */
#include "braid_pvm.h"

#define MAX_RESULTS 256
static uint8_t results[8 * MAX_RESULTS];
static uint64_t count;
static uint8_t out[256];

static void put(uint64_t value) {
    if (count == MAX_RESULTS) braid_revert("too many ops", 12);
    braid_store_u64le(results + 8 * count, value);
    count++;
}

static __attribute__((noreturn)) void bad(void) { braid_revert("bad script", 10); }

BRAID_ENTRY(capscript_main) {
    uint64_t i = 0;
#define NEED(n) do { if (i + (n) > len) bad(); } while (0)
    while (i < len) {
        uint8_t op = input[i++];
        switch (op) {
        case 0x01: {
            NEED(1); uint64_t kl = input[i++]; NEED(kl); const uint8_t *k = input + i; i += kl;
            NEED(1); uint64_t vl = input[i++]; NEED(vl); const uint8_t *v = input + i; i += vl;
            put(braid_storage_write(k, kl, v, vl));
            break;
        }
        case 0x02: NEED(1); put(braid_slot_kind(input[i], 0)); i += 1; break;
        case 0x03: {
            NEED(1); uint64_t bl = input[i++]; NEED(bl + 2); const uint8_t *b = input + i; i += bl;
            put(braid_data_mint(b, bl, input[i], input[i + 1])); i += 2;
            break;
        }
        case 0x04: NEED(2); put(braid_slot_copy(input[i], input[i + 1])); i += 2; break;
        case 0x05: NEED(2); put(braid_slot_move(input[i], input[i + 1])); i += 2; break;
        case 0x06: NEED(1); put(braid_slot_drop(input[i])); i += 1; break;
        case 0x07: NEED(1); put(braid_yieldref_mint(input[i])); i += 1; break;
        case 0x08: {
            NEED(21); const uint8_t *id = input + i; uint64_t il = input[i + 20]; i += 21;
            NEED(il); put(braid_call(id, input + i, il, braid_gas(), out, sizeof out, 0)); i += il;
            break;
        }
        case 0x09: {
            NEED(3); uint8_t slot = input[i], ep = input[i + 1]; uint64_t il = input[i + 2]; i += 3;
            NEED(il); put(braid_call_cap(slot, ep, input + i, il, braid_gas(), out, sizeof out, 0)); i += il;
            break;
        }
        case 0x0A: NEED(1); put(braid_yield(input[i])); i += 1; break;
        case 0x0B: put(braid_resume(out, sizeof out, 0)); break;
        case 0x0C: put(braid_resume_fault(out, sizeof out, 0)); break;
        case 0x0D:
            put(braid_reserved_open());
            put(braid_reserved_save());
            put(braid_reserved_drop_resume());
            break;
        case 0x0E: {
            NEED(22); put(braid_instance_cap(input[i], input + i + 1, input[i + 21])); i += 22;
            break;
        }
        case 0x0F: {
            NEED(1); uint8_t head[8] = {0};
            put(braid_data_read(input[i], head, 0, 8)); put(braid_load_u64le(head)); i += 1;
            break;
        }
        case 0x10: __builtin_trap();
        case 0x11: NEED(2); put(braid_same_type(input[i], input[i + 1])); i += 2; break;
        case 0x12: NEED(3); put(braid_cnode_pack(input[i], input[i + 1], input[i + 2])); i += 3; break;
        case 0x13: NEED(2); put(braid_cnode_unpack(input[i], input[i + 1])); i += 2; break;
        case 0x14: {
            NEED(3); uint64_t pinned = input[i + 1] == 0xFF ? BRAID_NO_SLOT : input[i + 1];
            put(braid_image_make(input[i], pinned, input[i + 2])); i += 3;
            break;
        }
        case 0x15: NEED(2); put(braid_derive_spawn(input[i], input[i + 1])); i += 2; break;
        case 0x16: NEED(1); put(braid_set_image(input[i])); i += 1; break;
        case 0x17: {
            NEED(2); uint64_t bl = (uint64_t)input[i] | ((uint64_t)input[i + 1] << 8); i += 2;
            NEED(bl + 1); const uint8_t *b = input + i; i += bl;
            put(braid_data_mint(b, bl, 0, input[i])); i += 1;
            break;
        }
        case 0x18: {
            NEED(4);
            uint64_t target = (uint64_t)input[i] | ((uint64_t)input[i + 1] << 8) | ((uint64_t)input[i + 2] << 16) | ((uint64_t)input[i + 3] << 24);
            i += 4;
            uint64_t left = braid_gas();
            while (left > target) left = braid_gas();
            put(left);
            break;
        }
        case 0x19: put(braid_gas()); break;
        case 0x1A: {
            NEED(1); uint64_t kl = input[i++]; NEED(kl); const uint8_t *k = input + i; i += kl;
            uint8_t value[8] = {0};
            uint64_t found = braid_storage_read(k, kl, value, 0, 8);
            uint64_t n = (found == BRAID_NONE ? 0 : braid_load_u64le(value)) + 1;
            braid_store_u64le(value, n);
            if (braid_storage_write(k, kl, value, 8) != BRAID_OK) braid_revert("storage full", 12);
            put(n);
            break;
        }
        default: bad();
        }
    }
    if (braid_storage_write("r", 1, results, 8 * count) != BRAID_OK) braid_revert("storage full", 12);
    return braid_return(results, 8 * count);
}
