// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title CrossReader: the EVM side of Braid's cross-engine read benchmark
///        (benches/benches/cross_engine.rs).
/// @notice `native(slot, count)` SLOADs its own `slot` `count` times;
///         `cross(engine, identity, key, count)` reads `key` of
///         `(engine, identity)` through Braid's read precompile at
///         0x00000000000000000000000000000000000B4A1D `count` times;
///         `floor(...)` sends the same call data to the identity precompile.
///         They return the last value read, so the benchmark can check it.
///         The loops do nothing but the call.
contract CrossReader {
    address constant BRAID_READ = 0x00000000000000000000000000000000000B4A1D;

    function native(uint256 slot, uint256 count) external view returns (bytes32 last) {
        for (uint256 i = 0; i < count; i++) {
            assembly {
                last := sload(slot)
            }
        }
    }

    /// The floor of any precompile read from Solidity: the same call data
    /// sent to the identity precompile (0x04), which only echoes it.
    function floor(uint8 engine, address identity, bytes calldata key, uint256 count)
        external
        view
        returns (bytes memory last)
    {
        bytes memory call = abi.encodeWithSignature("read(uint8,address,bytes)", engine, identity, key);
        for (uint256 i = 0; i < count; i++) {
            (bool ok, bytes memory ret) = address(4).staticcall(call);
            require(ok, "identity failed");
            last = ret;
        }
    }

    function cross(uint8 engine, address identity, bytes calldata key, uint256 count)
        external
        view
        returns (bytes memory last)
    {
        bytes memory call = abi.encodeWithSignature("read(uint8,address,bytes)", engine, identity, key);
        for (uint256 i = 0; i < count; i++) {
            (bool ok, bytes memory ret) = BRAID_READ.staticcall(call);
            require(ok, "braid read failed");
            last = ret;
        }
    }
}
