// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title CrossReader: the EVM side of Braid's cross-engine read benchmark
///        (benches/benches/cross_engine.rs).
/// @notice `native(slot, count)` SLOADs its own `slot` `count` times;
///         `cross(engine, identity, key, count)` reads `key` of
///         `(engine, identity)` through Braid's read precompile at
///         0x00000000000000000000000000000000000B4A1D `count` times;
///         `floor(...)` sends the same call data to the identity precompile;
///         `getter(other, slot, count)` reads `slot` of the EVM contract
///         `other` through its `load` getter, the EVM's own way to read
///         another contract's state.
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

    /// Slot `slot` of this contract's storage, for `getter`.
    function load(uint256 slot) external view returns (bytes32 value) {
        assembly {
            value := sload(slot)
        }
    }

    /// An EVM contract reading another EVM contract's value: a STATICCALL
    /// to `other.load(slot)`, `count` times.
    function getter(CrossReader other, uint256 slot, uint256 count) external view returns (bytes32 last) {
        for (uint256 i = 0; i < count; i++) {
            last = other.load(slot);
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
