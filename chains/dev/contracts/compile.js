#!/usr/bin/env node
// Compiles the dev chain's Solidity contracts with solc's standard-JSON
// interface and writes <Contract>.json next to each source. Run through
// build.sh, which installs solc.
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const DIR = __dirname;
const EVM_VERSION = 'cancun';

// Each contract with the slots other Braid code reads from raw storage; the
// build fails if they move.
const CONTRACTS = [
  {
    source: 'BraidToken.sol',
    name: 'BraidToken',
    layout: [
      ['balanceOf', '0'],
      ['allowance', '1'],
      ['totalSupply', '2'],
      ['name', '3'],
      ['symbol', '4'],
    ],
  },
  {
    source: 'CrossReader.sol',
    name: 'CrossReader',
    layout: [],
  },
  {
    source: 'PvmReader.sol',
    name: 'PvmReader',
    layout: [
      ['last', '0'],
      ['found', '1'],
      ['reads', '2'],
    ],
  },
];

for (const { source: SOURCE, name: CONTRACT, layout: EXPECTED_LAYOUT } of CONTRACTS) {
const OUT = path.join(DIR, `${CONTRACT}.json`);

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
}
