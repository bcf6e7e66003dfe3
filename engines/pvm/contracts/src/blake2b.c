/*
 * blake2b.c — compute benchmark: BLAKE2b-256 (RFC 7693, unkeyed, 32-byte
 * digest) implemented in C, no host calls. Input/output: see bench_input.h
 * (N -> blake2b_256(m[0..N]), 32 bytes).
 */
#include "bench_input.h"

typedef struct {
    uint64_t h[8];
    uint8_t buf[128];
    uint64_t used;
    uint64_t t; /* bytes compressed so far (messages < 2^64 bytes) */
} blake2b_ctx;

static const uint64_t IV[8] = {
    0x6a09e667f3bcc908ul, 0xbb67ae8584caa73bul, 0x3c6ef372fe94f82bul, 0xa54ff53a5f1d36f1ul,
    0x510e527fade682d1ul, 0x9b05688c2b3e6c1ful, 0x1f83d9abfb41bd6bul, 0x5be0cd19137e2179ul,
};
static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t ror64(uint64_t x, unsigned r) { return (x >> r) | (x << (64 - r)); }

#define G(a, b, c, d, x, y)                                                    \
    do {                                                                      \
        v[a] = v[a] + v[b] + (x); v[d] = ror64(v[d] ^ v[a], 32);              \
        v[c] = v[c] + v[d];       v[b] = ror64(v[b] ^ v[c], 24);              \
        v[a] = v[a] + v[b] + (y); v[d] = ror64(v[d] ^ v[a], 16);              \
        v[c] = v[c] + v[d];       v[b] = ror64(v[b] ^ v[c], 63);              \
    } while (0)

static void compress(blake2b_ctx *s, const uint8_t *p, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = braid_load_u64le(p + 8 * i);
    for (int i = 0; i < 8; i++) { v[i] = s->h[i]; v[i + 8] = IV[i]; }
    v[12] ^= s->t; /* low word of the counter; the high word stays 0 */
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *sg = SIGMA[r];
        G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
        G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
        G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
        G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
        G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
        G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
        G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
        G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
    }
    for (int i = 0; i < 8; i++) s->h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2b must keep the last block for the final compression, so a full
 * buffer is only compressed once more input arrives. */
static void blake2b_update(blake2b_ctx *s, const uint8_t *p, uint64_t n) {
    while (n) {
        if (s->used == 128) {
            s->t += 128;
            compress(s, s->buf, 0);
            s->used = 0;
        }
        if (s->used == 0) {
            while (n > 128) {
                s->t += 128;
                compress(s, p, 0);
                p += 128;
                n -= 128;
            }
        }
        while (n && s->used < 128) { s->buf[s->used++] = *p++; n--; }
    }
}

static void blake2b_final(blake2b_ctx *s, uint8_t out[32]) {
    s->t += s->used;
    for (uint64_t i = s->used; i < 128; i++) s->buf[i] = 0;
    compress(s, s->buf, 1);
    for (int i = 0; i < 4; i++) braid_store_u64le(out + 8 * i, s->h[i]);
}

static blake2b_ctx ctx;

BRAID_ENTRY(blake2b_main) {
    for (int i = 0; i < 8; i++) ctx.h[i] = IV[i];
    ctx.h[0] ^= 0x01010000ul ^ 32; /* depth 1, fanout 1, no key, 32-byte digest */
    ctx.used = 0;
    ctx.t = 0;
    BENCH_FEED(input, len, blake2b_update, &ctx);
    blake2b_final(&ctx, bench_digest);
    return braid_return(bench_digest, 32);
}
