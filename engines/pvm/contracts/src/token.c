/*
 * token.c — a fungible token kept in the instance's own storage.
 *
 * Storage (own keys, rfcs/0003 `storage_*`):
 *   holder identity (20 bytes)  -> balance, u64 little endian (8 bytes)
 *   "total_supply" (12 bytes)   -> total supply, u64 little endian
 *
 * Input: selector byte, then arguments.
 *   0x00 init(amount u64le)            mints `amount` to the caller; only
 *                                      while "total_supply" is unset, else
 *                                      reverts "initialized". Output: empty.
 *   0x01 transfer(to[20], amount u64le) moves `amount` from the caller to
 *                                      `to`; reverts "insufficient balance"
 *                                      (or "overflow"); logs Transfer.
 *                                      Output: the caller's new balance, u64le.
 *   0x02 balance_of(who[20])           Output: balance, u64le (0 if unset).
 *   0x03 total_supply()                Output: total supply, u64le.
 * Any other selector or a wrong input length reverts "bad input".
 *
 * Transfer log: 3 topics — "Transfer" (ASCII, zero-padded to 32 bytes),
 * from and to (each left-padded with 12 zero bytes, as in the EVM);
 * data = amount, u64le.
 *
 * Host calls: caller(2), storage_read(4), storage_write(5), log(9), revert(14).
 */
#include "braid_pvm.h"

static const char SUPPLY_KEY[12] = {'t', 'o', 't', 'a', 'l', '_', 's', 'u', 'p', 'p', 'l', 'y'};
static uint8_t out[8];

#define REVERT_STR(s) braid_revert((s), sizeof(s) - 1)

static uint64_t read_u64(const void *key, uint64_t key_len, int *present) {
    uint8_t buf[8] = {0};
    uint64_t n = braid_storage_read(key, key_len, buf, 0, 8);
    if (present) *present = n != BRAID_NONE;
    if (n == BRAID_NONE) return 0;
    if (n != 8) REVERT_STR("corrupt value");
    return braid_load_u64le(buf);
}

static void write_u64(const void *key, uint64_t key_len, uint64_t v) {
    uint8_t buf[8];
    braid_store_u64le(buf, v);
    if (braid_storage_write(key, key_len, buf, 8) != BRAID_OK) REVERT_STR("storage full");
}

BRAID_ENTRY(token_main) {
    if (len < 1) REVERT_STR("bad input");
    uint8_t caller[20];
    switch (input[0]) {
    case 0x00: { /* init(amount) */
        if (len != 1 + 8) REVERT_STR("bad input");
        int present;
        read_u64(SUPPLY_KEY, sizeof SUPPLY_KEY, &present);
        if (present) REVERT_STR("initialized");
        uint64_t amount = braid_load_u64le(input + 1);
        braid_caller(caller);
        write_u64(SUPPLY_KEY, sizeof SUPPLY_KEY, amount);
        write_u64(caller, 20, amount);
        return braid_return(out, 0);
    }
    case 0x01: { /* transfer(to, amount) */
        if (len != 1 + 20 + 8) REVERT_STR("bad input");
        const uint8_t *to = input + 1;
        uint64_t amount = braid_load_u64le(input + 21);
        braid_caller(caller);
        uint64_t from_balance = read_u64(caller, 20, 0);
        if (from_balance < amount) REVERT_STR("insufficient balance");
        write_u64(caller, 20, from_balance - amount);
        uint64_t to_balance = read_u64(to, 20, 0); /* read after the debit: self-transfers net to 0 */
        if (to_balance + amount < to_balance) REVERT_STR("overflow");
        write_u64(to, 20, to_balance + amount);

        uint8_t topics[3][32];
        memset(topics, 0, sizeof topics);
        memcpy(topics[0], "Transfer", 8);
        memcpy(topics[1] + 12, caller, 20);
        memcpy(topics[2] + 12, to, 20);
        uint8_t data[8];
        braid_store_u64le(data, amount);
        braid_log(topics, 3, data, 8);

        braid_store_u64le(out, read_u64(caller, 20, 0));
        return braid_return(out, 8);
    }
    case 0x02: /* balance_of(who) */
        if (len != 1 + 20) REVERT_STR("bad input");
        braid_store_u64le(out, read_u64(input + 1, 20, 0));
        return braid_return(out, 8);
    case 0x03: /* total_supply() */
        if (len != 1) REVERT_STR("bad input");
        braid_store_u64le(out, read_u64(SUPPLY_KEY, sizeof SUPPLY_KEY, 0));
        return braid_return(out, 8);
    default:
        REVERT_STR("bad input");
    }
}
