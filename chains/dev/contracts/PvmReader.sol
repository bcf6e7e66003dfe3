// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title PvmReader: an EVM contract that reads PVM storage through Braid's
///        cross-engine read precompile and records what it got.
/// @notice The precompile (RFC 0004, precompiles/src/read.rs) lives at
///         0x00000000000000000000000000000000000B4A1D and answers
///         `read(uint8 engine, address identity, bytes key) returns (bool found, bytes value)`
///         with the committed storage value of `(engine, identity, key)`.
///         Storage layout (read raw by Braid's tests):
///         slot 0: bytes32 last   (the value read, left-aligned, zero-padded)
///         slot 1: uint256 found  (1 if the key had a value)
///         slot 2: uint256 reads  (number of reads)
contract PvmReader {
    address constant BRAID_READ = 0x00000000000000000000000000000000000B4A1D;
    uint8 constant PVM = 2;

    bytes32 public last;   // slot 0
    uint256 public found;  // slot 1
    uint256 public reads;  // slot 2

    event Read(address indexed module, bytes key, bool found, bytes value);

    /// Reads `key` of PVM module `module` and records it.
    function record(address module, bytes calldata key) external returns (bytes memory value) {
        (bool ok, bytes memory ret) =
            BRAID_READ.staticcall(abi.encodeWithSignature("read(uint8,address,bytes)", PVM, module, key));
        require(ok, "braid read failed");
        bool hit;
        (hit, value) = abi.decode(ret, (bool, bytes));
        bytes32 word;
        assembly {
            word := mload(add(value, 32))
        }
        if (value.length < 32) {
            // Keep only the value's bytes.
            word &= ~bytes32(type(uint256).max >> (8 * value.length));
        }
        last = word;
        found = hit ? 1 : 0;
        reads += 1;
        emit Read(module, key, hit, value);
    }
}
