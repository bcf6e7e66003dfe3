/*
 * faulty.c — writes its own storage key "f" (1 byte) = 0x01, then traps.
 * Used to prove that a faulting callee's writes vanish. Input: ignored.
 * Outcome: always Fault(Trap).
 *
 * Host calls: storage_write(5).
 */
#include "braid_pvm.h"

BRAID_ENTRY(faulty_main) {
    (void)input;
    (void)len;
    const uint8_t one = 0x01;
    braid_storage_write("f", 1, &one, 1);
    __builtin_trap();
}
