/*
 * braid_plugin.h: the C ABI between Braid and an engine plugin (RFC 0005).
 *
 * Mirrors the Rust crate `braid-plugin-abi` (plugins/abi/src/lib.rs) exactly;
 * plugins/abi/tests/layout.rs checks the sizes and offsets below against the
 * Rust definitions on every test run.
 *
 * A plugin exports ONE symbol:
 *     const BraidPluginDescriptor *braid_plugin_descriptor(void);
 * returning a descriptor valid for the life of the process.
 *
 * Ownership: only plain data, borrowed byte slices (pointer + length, valid
 * for the duration of the call that lends them), function pointers and
 * opaque handles cross. Nothing allocated on one side is freed on the other:
 * outputs are copied out through a BraidSink the receiver provides.
 * No C++ exception, longjmp or Rust panic may cross the boundary.
 *
 * Layout constants, for a 64-bit target (LP64), in bytes:
 *   BraidBytes               size 16: ptr 0, len 8
 *   BraidSink                size 16: ctx 0, write 8
 *   BraidPluginDescriptor    size 48: magic 0, abi_major 4, abi_minor 6,
 *                            struct_size 8, reserved 12 (header: 16 bytes,
 *                            never changes), name 16, validate 32, call 40
 *   BraidMessage             size 112: caller 0, target 20, value 40,
 *                            gas_limit 72, input 80, code 96
 *   BraidHostVtable          size 64: struct_size 0, reserved 4,
 *                            storage_get 8, storage_set 16, storage_delete 24,
 *                            state_read 32, charge_gas 40, gas_left 48, log 56
 */
#ifndef BRAID_PLUGIN_H
#define BRAID_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "BRPL" in memory order, read as a little-endian uint32. */
#define BRAID_PLUGIN_MAGIC 0x4C505242u
#define BRAID_PLUGIN_ABI_MAJOR 1
#define BRAID_PLUGIN_ABI_MINOR 0
#define BRAID_PLUGIN_HEADER_SIZE 16
#define BRAID_IDENTITY_LEN 20
#define BRAID_PLUGIN_DESCRIPTOR_SYMBOL "braid_plugin_descriptor"

/* Statuses returned by validate and call. 0..0xFF: consensus data.
 * >= 0x100 (and any unknown code): internal error, the block stops. */
#define BRAID_STATUS_HALT 0u
#define BRAID_STATUS_OK 0u
#define BRAID_STATUS_REVERT 1u
#define BRAID_STATUS_OUT_OF_GAS 2u
#define BRAID_STATUS_TRAP 3u
#define BRAID_STATUS_INVALID_CODE 4u
#define BRAID_STATUS_INTERNAL_ERROR 0x100u
#define BRAID_STATUS_HOST_ERROR 0x101u
#define BRAID_STATUS_PANIC 0x102u

/* Statuses returned by host functions. */
#define BRAID_HOST_OK 0u
#define BRAID_HOST_NOT_FOUND 1u
#define BRAID_HOST_OUT_OF_GAS 2u
#define BRAID_HOST_LIMIT 3u
#define BRAID_HOST_ERROR 0x100u

/* A borrowed byte slice; ptr may be NULL when len is 0. */
typedef struct BraidBytes {
    const uint8_t *ptr;
    size_t len;
} BraidBytes;

/* Receives bytes: write(ctx, bytes) copies and appends them. */
typedef struct BraidSink {
    void *ctx;
    void (*write)(void *ctx, BraidBytes bytes);
} BraidSink;

/* The host's side of one call; opaque. */
typedef struct BraidHostContext BraidHostContext;

typedef struct BraidHostVtable {
    uint32_t struct_size;
    uint32_t reserved;
    uint32_t (*storage_get)(BraidHostContext *ctx, BraidBytes key, BraidSink out);
    uint32_t (*storage_set)(BraidHostContext *ctx, BraidBytes key, BraidBytes value);
    uint32_t (*storage_delete)(BraidHostContext *ctx, BraidBytes key);
    uint32_t (*state_read)(BraidHostContext *ctx, uint8_t engine,
                           const uint8_t *identity /* 20 bytes */, BraidBytes key,
                           BraidSink out);
    uint32_t (*charge_gas)(BraidHostContext *ctx, uint64_t amount);
    uint64_t (*gas_left)(BraidHostContext *ctx);
    uint32_t (*log)(BraidHostContext *ctx, const uint8_t *topics /* count * 32 bytes */,
                    size_t topic_count, BraidBytes data);
} BraidHostVtable;

typedef struct BraidMessage {
    uint8_t caller[BRAID_IDENTITY_LEN];
    uint8_t target[BRAID_IDENTITY_LEN];
    uint8_t value[32]; /* 256-bit big-endian */
    uint64_t gas_limit;
    BraidBytes input;
    BraidBytes code;
} BraidMessage;

typedef uint32_t (*BraidValidateFn)(BraidBytes code, BraidSink reason);
typedef uint32_t (*BraidCallFn)(const BraidHostVtable *host, BraidHostContext *ctx,
                                const BraidMessage *message, BraidSink output);

typedef struct BraidPluginDescriptor {
    /* Header: never changes. */
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;
    uint32_t reserved;
    /* Body, ABI 1.0. */
    BraidBytes name; /* UTF-8, static */
    BraidValidateFn validate;
    BraidCallFn call;
} BraidPluginDescriptor;

const BraidPluginDescriptor *braid_plugin_descriptor(void);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_PLUGIN_H */
