/*
 * braid_freestanding.h — the four memory functions a freestanding C
 * compiler may emit calls to, shared by Braid's PVM and WASM contracts
 * (engines/pvm/contracts, engines/wasm/contracts). Plain byte loops: the
 * contracts are small and must not depend on a libc.
 *
 * The including header defines BRAID_NOBUILTIN (the attributes each target
 * needs) before including this file, from exactly one translation unit.
 */
#ifndef BRAID_FREESTANDING_H
#define BRAID_FREESTANDING_H

#ifndef BRAID_NOBUILTIN
#error "define BRAID_NOBUILTIN before including braid_freestanding.h"
#endif

BRAID_NOBUILTIN void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) *d++ = *s++;
    return dst;
}

BRAID_NOBUILTIN void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

BRAID_NOBUILTIN void *memset(void *dst, int c, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

BRAID_NOBUILTIN int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

#endif /* BRAID_FREESTANDING_H */
