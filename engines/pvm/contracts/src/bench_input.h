/*
 * bench_input.h — shared input convention of the hash benchmarks
 * (keccak.c, blake2b.c, sha256.c).
 *
 * Input of at most 8 bytes: N, a little-endian unsigned integer (usually a
 * u32 or u64; empty = 0). The message is the N-byte deterministic buffer
 * m[i] = i mod 256 (0x00 0x01 ... 0xff 0x00 0x01 ...).
 * Input longer than 8 bytes: the message is the input itself (for test
 * vectors).
 * Output: the 32-byte digest.
 */
#ifndef BRAID_BENCH_INPUT_H
#define BRAID_BENCH_INPUT_H
#include "braid_pvm.h"

#define BENCH_CHUNK 4096 /* a multiple of 256: every chunk of m is the same */
static uint8_t bench_chunk[BENCH_CHUNK];
static uint8_t bench_digest[32];

/* Feeds the message selected by `input` to `update(ctx, data, len)`. */
#define BENCH_FEED(input, len, update, ctx)                                    \
    do {                                                                      \
        if ((len) > 8) {                                                      \
            update((ctx), (input), (len));                                    \
        } else {                                                              \
            uint64_t n_ = 0;                                                  \
            for (uint64_t i_ = 0; i_ < (len); i_++)                           \
                n_ |= (uint64_t)(input)[i_] << (8 * i_);                      \
            for (uint64_t i_ = 0; i_ < BENCH_CHUNK; i_++)                     \
                bench_chunk[i_] = (uint8_t)i_;                                \
            while (n_ > 0) {                                                  \
                uint64_t k_ = n_ < BENCH_CHUNK ? n_ : BENCH_CHUNK;            \
                update((ctx), bench_chunk, k_);                               \
                n_ -= k_;                                                     \
            }                                                                 \
        }                                                                     \
    } while (0)

#endif
