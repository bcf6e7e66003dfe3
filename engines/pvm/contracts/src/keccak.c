/*
 * keccak.c — compute benchmark: Keccak-256 (the Ethereum variant: original
 * Keccak padding 0x01, rate 136 bytes) implemented in C, no host calls.
 * Input/output: see bench_input.h (N -> keccak256(m[0..N]), 32 bytes).
 */
#include "bench_input.h"

#define RATE 136

typedef struct {
    uint64_t s[25];
    uint8_t buf[RATE];
    uint64_t used;
} keccak_ctx;

static const uint64_t RC[24] = {
    0x0000000000000001ul, 0x0000000000008082ul, 0x800000000000808aul, 0x8000000080008000ul,
    0x000000000000808bul, 0x0000000080000001ul, 0x8000000080008081ul, 0x8000000000008009ul,
    0x000000000000008aul, 0x0000000000000088ul, 0x0000000080008009ul, 0x000000008000000aul,
    0x000000008000808bul, 0x800000000000008bul, 0x8000000000008089ul, 0x8000000000008003ul,
    0x8000000000008002ul, 0x8000000000000080ul, 0x000000000000800aul, 0x800000008000000aul,
    0x8000000080008081ul, 0x8000000000008080ul, 0x0000000080000001ul, 0x8000000080008008ul,
};
static const uint8_t ROT[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static inline uint64_t rol(uint64_t x, unsigned r) { return r ? (x << r) | (x >> (64 - r)) : x; }

static void keccak_f(uint64_t a[25]) {
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], d[5], b[25];
        for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ rol(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++) a[i] ^= d[i % 5];
        /* rho + pi: B[y, 2x+3y] = rot(A[x, y], r[x, y]) */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rol(a[x + 5 * y], ROT[x + 5 * y]);
        /* chi */
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        a[0] ^= RC[round];
    }
}

static void absorb_block(keccak_ctx *k, const uint8_t *p) {
    for (int i = 0; i < RATE / 8; i++) k->s[i] ^= braid_load_u64le(p + 8 * i);
    keccak_f(k->s);
}

static void keccak_update(keccak_ctx *k, const uint8_t *p, uint64_t n) {
    if (k->used) {
        while (n && k->used < RATE) { k->buf[k->used++] = *p++; n--; }
        if (k->used < RATE) return;
        absorb_block(k, k->buf);
        k->used = 0;
    }
    while (n >= RATE) { absorb_block(k, p); p += RATE; n -= RATE; }
    while (n) { k->buf[k->used++] = *p++; n--; }
}

static void keccak_final(keccak_ctx *k, uint8_t out[32]) {
    for (uint64_t i = k->used; i < RATE; i++) k->buf[i] = 0;
    k->buf[k->used] ^= 0x01;
    k->buf[RATE - 1] ^= 0x80;
    absorb_block(k, k->buf);
    for (int i = 0; i < 4; i++) braid_store_u64le(out + 8 * i, k->s[i]);
}

static keccak_ctx ctx;

BRAID_ENTRY(keccak_main) {
    for (int i = 0; i < 25; i++) ctx.s[i] = 0;
    ctx.used = 0;
    BENCH_FEED(input, len, keccak_update, &ctx);
    keccak_final(&ctx, bench_digest);
    return braid_return(bench_digest, 32);
}
