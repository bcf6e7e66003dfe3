// hardhat's node for benches/node-rpc/bench.mjs: the same chain id and the
// same 17 funded keys as the braid chain the bench writes, 30M gas blocks,
// automine or (BENCH_INTERVAL_MS) interval mining, as its users configure it.
const { keccak256, toBytes } = require('viem');

const keys = Array.from({ length: 17 }, (_, i) => keccak256(toBytes(`braid rpc bench ${i}`)));
const interval = Number(process.env.BENCH_INTERVAL_MS || 0);

module.exports = {
  networks: {
    hardhat: {
      chainId: 4545,
      blockGasLimit: 30_000_000,
      initialBaseFeePerGas: 1_000_000_000,
      accounts: keys.map((privateKey) => ({ privateKey, balance: '1000000000000000000000000' })),
      mining: interval ? { auto: false, interval } : { auto: true },
      loggingEnabled: false,
    },
  },
};
