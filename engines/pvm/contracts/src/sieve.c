/*
 * sieve.c — compute benchmark: count the primes below N (sieve of
 * Eratosthenes over odd numbers, one bit each, in a static buffer).
 *
 * Input:  N as a little-endian unsigned integer of 1..8 bytes (usually a u32
 *         or u64); an empty input means N = 0. N must be <= SIEVE_MAX_N,
 *         otherwise the program traps.
 * Output: the number of primes p with p < N, as 8 bytes u64 little endian.
 * Host calls: none.
 */
#include "braid_pvm.h"

#define SIEVE_MAX_N (1ul << 23) /* 8,388,608: 4 Mi odd numbers, 512 KiB of bits */

static uint64_t composite[SIEVE_MAX_N / 2 / 64]; /* bit i <=> 2i+1 is composite */
static uint8_t out[8];

static uint64_t read_param(const uint8_t *input, uint64_t len) {
    if (len > 8) __builtin_trap();
    uint64_t v = 0;
    for (uint64_t i = 0; i < len; i++) v |= (uint64_t)input[i] << (8 * i);
    return v;
}

static uint64_t count_primes_below(uint64_t n) {
    if (n <= 2) return 0;
    uint64_t odds = n / 2; /* odd numbers 1, 3, ..., < n  (index i <=> 2i+1) */
    for (uint64_t w = 0; w < (odds + 63) / 64; w++) composite[w] = 0;
    composite[0] |= 1; /* 1 is not prime */
    for (uint64_t i = 1; (2 * i + 1) * (2 * i + 1) < n; i++) {
        if (composite[i / 64] >> (i % 64) & 1) continue;
        uint64_t p = 2 * i + 1;
        for (uint64_t j = (p * p) / 2; j < odds; j += p) composite[j / 64] |= 1ul << (j % 64);
    }
    uint64_t count = 1; /* the prime 2 */
    for (uint64_t i = 0; i < odds; i++) count += !(composite[i / 64] >> (i % 64) & 1);
    return count;
}

BRAID_ENTRY(sieve_main) {
    uint64_t n = read_param(input, len);
    if (n > SIEVE_MAX_N) __builtin_trap();
    braid_store_u64le(out, count_primes_below(n));
    return braid_return(out, sizeof out);
}
