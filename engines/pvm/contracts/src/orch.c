/*
 * orch.c — the orchestrator of data-flow.txt:190-201 (CAPS.md T34, rfcs/0010):
 * hands a worker a YieldRef to itself, handles the worker's request (a
 * call to a squaring service), and resumes the worker with the answer.
 *
 * Input: worker identity[20] ‖ service identity[20] ‖ flags (1 byte):
 * bit 0 asks the service to fault, bit 1 makes the handler call the worker
 * (which is on the stack: a Reentrancy fault, status 2).
 *   1. yieldref_mint(0); call(worker): answers 3 (yielded).
 *   2. data_read(0): the request "call a with N"; call(service, [N, fault]).
 *      Halt with one byte M: slot 0 = Data([M]); otherwise Data("failed").
 *   3. resume: answers the worker's status (0 when it halts).
 * Stores "s" = [status of step 1, of the reentrant call (or 0xFF), of the
 * service call, of resume] and halts with it.
 *
 * Host calls: gas(0), storage_write(5), call(13), revert(14), data_read(22),
 * data_mint(23), yieldref_mint(33), resume(34).
 */
#include "braid_pvm.h"

static uint8_t request[64];

BRAID_ENTRY(orch_main) {
    if (len != 41) braid_revert("bad input", 9);
    const uint8_t *worker = input, *service = input + 20;
    uint8_t flags = input[40], statuses[4] = {0xFF, 0xFF, 0xFF, 0xFF}, answer[8];
    if (braid_yieldref_mint(0) != BRAID_OK) braid_revert("mint", 4);
    statuses[0] = (uint8_t)braid_call(worker, 0, 0, braid_gas(), 0, 0, 0);
    if (statuses[0] != BRAID_CALL_YIELDED) braid_revert(statuses, 4);
    if (flags & 2) statuses[1] = (uint8_t)braid_call(worker, 0, 0, braid_gas(), 0, 0, 0);
    uint64_t size = braid_data_read(0, request, 0, sizeof request);
    static const char prefix[] = "call a with ";
    if (size != (sizeof prefix - 1) + 1 || memcmp(request, prefix, sizeof prefix - 1) != 0)
        braid_revert("bad request", 11);
    uint8_t args[2] = {request[sizeof prefix - 1], (uint8_t)(flags & 1)};
    uint64_t got = 0;
    statuses[2] = (uint8_t)braid_call(service, args, 2, braid_gas(), answer, sizeof answer, &got);
    if (statuses[2] == BRAID_CALL_HALT && got == 1)
        braid_data_mint(answer, 1, 0, 0);
    else
        braid_data_mint("failed", 6, 0, 0);
    statuses[3] = (uint8_t)braid_resume(0, 0, 0);
    if (braid_storage_write("s", 1, statuses, 4) != BRAID_OK) braid_revert("storage full", 12);
    return braid_return(statuses, 4);
}
