// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BraidToken
/// @notice The ERC-20 (EIP-20) token of Braid's dev chain.
/// @dev STORAGE LAYOUT -- other Braid code reads this contract's raw storage,
///      so the order and types of the state variables below must never change:
///        slot 0: mapping(address => uint256) balanceOf
///                  balanceOf[a] lives at keccak256(abi.encode(a, uint256(0)))
///        slot 1: mapping(address => mapping(address => uint256)) allowance
///                  allowance[o][s] lives at
///                  keccak256(abi.encode(s, keccak256(abi.encode(o, uint256(1)))))
///        slot 2: uint256 totalSupply
///        slot 3: string name   (Solidity short/long string encoding)
///        slot 4: string symbol (Solidity short/long string encoding)
///      `decimals` is a constant and takes no storage. There are no other
///      state variables and no base contracts.
contract BraidToken {
    // ---------------------------------------------------------------- storage
    // Do not reorder, retype, or insert anything before these (see above).
    mapping(address => uint256) public balanceOf;                     // slot 0
    mapping(address => mapping(address => uint256)) public allowance; // slot 1
    uint256 public totalSupply;                                       // slot 2
    string public name;                                               // slot 3
    string public symbol;                                             // slot 4

    uint8 public constant decimals = 18;

    // ----------------------------------------------------------------- events
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    // ----------------------------------------------------------------- errors
    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);
    error InvalidReceiver(address receiver);

    /// @notice Creates the token and mints `initialSupply` units to the deployer.
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) {
        name = name_;
        symbol = symbol_;
        totalSupply = initialSupply;
        balanceOf[msg.sender] = initialSupply;
        emit Transfer(address(0), msg.sender, initialSupply);
    }

    /// @notice Moves `value` units from the caller to `to`.
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    /// @notice Lets `spender` move up to `value` units of the caller's tokens,
    ///         replacing any previous allowance.
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @notice Moves `value` units from `from` to `to` using the caller's allowance.
    /// @dev An allowance of type(uint256).max is treated as unlimited and is not
    ///      decreased.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < value) {
                revert InsufficientAllowance(msg.sender, allowed, value);
            }
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        if (to == address(0)) {
            revert InvalidReceiver(to);
        }
        uint256 fromBalance = balanceOf[from];
        if (fromBalance < value) {
            revert InsufficientBalance(from, fromBalance, value);
        }
        unchecked {
            // Cannot underflow (checked above) nor overflow: the sum of all
            // balances equals totalSupply, which fits in a uint256.
            balanceOf[from] = fromBalance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
