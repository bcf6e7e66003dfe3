/*
 * allowance_token.c — the contract-level cross-engine workload: a token
 * whose transfers are gated by an allowance, held either locally (in its
 * own storage) or in another engine's state (read with state_read). Both
 * transfer kinds do the same work but for where the allowance is read: one
 * allowance read, one read and one write of what the holder has spent
 * (spent ≤ allowance is the check; an allowance held elsewhere is
 * read-only, so consumption is tracked here for both), then the move.
 *
 * Own storage:
 *   holder[20]              -> balance, u64le (8 bytes)
 *   "allow" ‖ holder[20]    -> allowance, u64le (25-byte key)
 *   "spent" ‖ holder[20]    -> allowance spent so far, u64le (25-byte key)
 *   "total_supply"          -> total supply, u64le (12-byte key)
 *
 * Input: selector u8 ‖ arguments (all integers little endian):
 *   0x00 init(amount u64)                 mints `amount` to the caller and
 *        sets total_supply; reverts "initialized" if already set.
 *        Output: empty.
 *   0x01 transfer_local(to[20], amount u64)
 *        allowance = own "allow" ‖ caller (unset = 0); then spend (below).
 *   0x02 transfer_remote(to[20], amount u64, engine u8, identity[20])
 *        allowance = state_read(engine, identity, "allow" ‖ caller), i.e.
 *        that instance's own-storage key (e.g. another allowance_token
 *        instance, engine 3, or a PVM module, engine 2); unset = 0, a value
 *        that is not 8 bytes reverts "bad allowance"; then spend (below).
 *   spend: spent = own "spent" ‖ caller (unset = 0); reverts "insufficient
 *        allowance" if allowance - spent < amount, else writes spent +
 *        amount; then moves `amount` caller -> to. Output: the caller's new
 *        balance, u64.
 *   0x03 set_allowance(who[20], amount u64)  own "allow" ‖ who = amount
 *        (unauthenticated: a benchmark workload). Output: empty.
 *   0x04 balance_of(who[20])     Output: balance, u64 (0 if unset).
 *   0x05 allowance_of(who[20])   Output: local allowance, u64 (0 if unset).
 * Transfers revert "insufficient balance" / "overflow"; a self-transfer
 * leaves the balance unchanged. Any other selector or input length reverts
 * "bad input"; a failed write reverts "storage full".
 *
 * Imports: input, caller, storage_read, storage_write, state_read, revert.
 */
#include "braid_wasm.h"

static const uint8_t SUPPLY_KEY[12] = {'t', 'o', 't', 'a', 'l', '_', 's', 'u', 'p', 'p', 'l', 'y'};
static uint8_t out[8];

static uint64_t read_u64(const void *key, uint32_t key_len, int *present) {
    uint8_t buf[8] = {0};
    uint64_t n = braid_storage_read(key, key_len, buf, 0, 8);
    if (present) *present = n != BRAID_NONE;
    if (n == BRAID_NONE) return 0;
    if (n != 8) BRAID_REVERT_STR("corrupt value");
    return braid_load_u64le(buf);
}

static void write_u64(const void *key, uint32_t key_len, uint64_t v) {
    uint8_t buf[8];
    braid_store_u64le(buf, v);
    if (braid_storage_write(key, key_len, buf, 8) != BRAID_OK) BRAID_REVERT_STR("storage full");
}

static void allow_key(uint8_t key[25], const uint8_t who[20]) {
    memcpy(key, "allow", 5);
    memcpy(key + 5, who, 20);
}


/* caller -> to; returns the caller's new balance. */
static uint64_t move(const uint8_t caller[20], const uint8_t to[20], uint64_t amount) {
    uint64_t from_balance = read_u64(caller, 20, 0);
    if (from_balance < amount) BRAID_REVERT_STR("insufficient balance");
    write_u64(caller, 20, from_balance - amount);
    uint64_t to_balance = read_u64(to, 20, 0); /* after the debit: self-transfers net to 0 */
    if (to_balance + amount < to_balance) BRAID_REVERT_STR("overflow");
    write_u64(to, 20, to_balance + amount);
    return read_u64(caller, 20, 0);
}

/* Spends `amount` of `allowance` for `caller` (tracked in own "spent"),
 * then moves caller -> to; returns the caller's new balance. */
static uint64_t spend(const uint8_t caller[20], const uint8_t to[20], uint64_t amount,
                      uint64_t allowance) {
    uint8_t key[25];
    memcpy(key, "spent", 5);
    memcpy(key + 5, caller, 20);
    uint64_t spent = read_u64(key, 25, 0);
    if (spent > allowance || allowance - spent < amount) BRAID_REVERT_STR("insufficient allowance");
    write_u64(key, 25, spent + amount);
    return move(caller, to, amount);
}

BRAID_ENTRY(allowance_token_main) {
    uint32_t len;
    const uint8_t *input = braid_load_input(&len);
    if (len < 1) BRAID_REVERT_STR("bad input");
    uint8_t caller[20];
    uint8_t key[25];
    switch (input[0]) {
    case 0x00: { /* init(amount) */
        if (len != 1 + 8) BRAID_REVERT_STR("bad input");
        int present;
        read_u64(SUPPLY_KEY, sizeof SUPPLY_KEY, &present);
        if (present) BRAID_REVERT_STR("initialized");
        uint64_t amount = braid_load_u64le(input + 1);
        braid_caller(caller);
        write_u64(SUPPLY_KEY, sizeof SUPPLY_KEY, amount);
        write_u64(caller, 20, amount);
        return braid_return(out, 0);
    }
    case 0x01: { /* transfer_local(to, amount) */
        if (len != 1 + 20 + 8) BRAID_REVERT_STR("bad input");
        const uint8_t *to = input + 1;
        uint64_t amount = braid_load_u64le(input + 21);
        braid_caller(caller);
        allow_key(key, caller);
        uint64_t allowance = read_u64(key, 25, 0);
        braid_store_u64le(out, spend(caller, to, amount, allowance));
        return braid_return(out, 8);
    }
    case 0x02: { /* transfer_remote(to, amount, engine, identity) */
        if (len != 1 + 20 + 8 + 1 + 20) BRAID_REVERT_STR("bad input");
        const uint8_t *to = input + 1;
        uint64_t amount = braid_load_u64le(input + 21);
        uint32_t engine = input[29];
        const uint8_t *identity = input + 30;
        braid_caller(caller);
        allow_key(key, caller);
        uint8_t buf[8] = {0};
        uint64_t n = braid_state_read(engine, identity, key, 25, buf, 8);
        uint64_t allowance = 0;
        if (n != BRAID_NONE) {
            if (n != 8) BRAID_REVERT_STR("bad allowance");
            allowance = braid_load_u64le(buf);
        }
        braid_store_u64le(out, spend(caller, to, amount, allowance));
        return braid_return(out, 8);
    }
    case 0x03: /* set_allowance(who, amount) */
        if (len != 1 + 20 + 8) BRAID_REVERT_STR("bad input");
        allow_key(key, input + 1);
        write_u64(key, 25, braid_load_u64le(input + 21));
        return braid_return(out, 0);
    case 0x04: /* balance_of(who) */
        if (len != 1 + 20) BRAID_REVERT_STR("bad input");
        braid_store_u64le(out, read_u64(input + 1, 20, 0));
        return braid_return(out, 8);
    case 0x05: /* allowance_of(who) */
        if (len != 1 + 20) BRAID_REVERT_STR("bad input");
        allow_key(key, input + 1);
        braid_store_u64le(out, read_u64(key, 25, 0));
        return braid_return(out, 8);
    default:
        BRAID_REVERT_STR("bad input");
    }
}
