#!/usr/bin/env node
// Compiles BraidToken.sol with solc's standard-JSON interface and writes
// BraidToken.json next to it. Run through build.sh, which installs solc.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const DIR = __dirname;
const SOURCE = 'BraidToken.sol'; // source unit name: relative, so the output does not depend on the checkout path
const CONTRACT = 'BraidToken';
const EVM_VERSION = 'cancun';
const OUT = path.join(DIR, `${CONTRACT}.json`);

// Slots other Braid code reads from raw storage; the build fails if they move.
const EXPECTED_LAYOUT = [
  ['balanceOf', '0'],
  ['allowance', '1'],
  ['totalSupply', '2'],
  ['name', '3'],
  ['symbol', '4'],
];

const input = {
  language: 'Solidity',
  sources: {
    [SOURCE]: { content: fs.readFileSync(path.join(DIR, SOURCE), 'utf8') },
  },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: EVM_VERSION,
    metadata: { bytecodeHash: 'none' },
    outputSelection: {
      [SOURCE]: {
        [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'storageLayout'],
      },
    },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));

let failed = false;
for (const diag of output.errors || []) {
  process.stderr.write((diag.formattedMessage || diag.message) + '\n');
  if (diag.severity === 'error') failed = true;
}
if (failed) {
  process.stderr.write('compile.js: compilation failed\n');
  process.exit(1);
}

const contract = output.contracts && output.contracts[SOURCE] && output.contracts[SOURCE][CONTRACT];
if (!contract) {
  process.stderr.write(`compile.js: solc produced no output for ${SOURCE}:${CONTRACT}\n`);
  process.exit(1);
}

const bytecode = contract.evm.bytecode.object;
const deployedBytecode = contract.evm.deployedBytecode.object;
if (!bytecode || !deployedBytecode) {
  process.stderr.write('compile.js: empty bytecode\n');
  process.exit(1);
}

const storage = contract.storageLayout.storage;
const actual = storage.map((s) => [s.label, s.slot, s.offset]);
const expected = EXPECTED_LAYOUT.map(([label, slot]) => [label, slot, 0]);
if (JSON.stringify(actual) !== JSON.stringify(expected)) {
  process.stderr.write(
    'compile.js: storage layout changed; other code reads these slots.\n' +
      `  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}\n`,
  );
  process.exit(1);
}

const artifact = {
  contractName: CONTRACT,
  compiler: solc.version(),
  evmVersion: EVM_VERSION,
  abi: contract.abi,
  bytecode: '0x' + bytecode,
  deployedBytecode: '0x' + deployedBytecode,
  storageLayout: contract.storageLayout,
};

const tmp = `${OUT}.tmp`;
fs.writeFileSync(tmp, JSON.stringify(artifact, null, 2) + '\n');
fs.renameSync(tmp, OUT);
process.stdout.write(
  `wrote ${OUT} (solc ${solc.version()}, creation ${bytecode.length / 2} bytes, runtime ${deployedBytecode.length / 2} bytes)\n`,
);
