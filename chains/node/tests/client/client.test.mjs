// braid node driven by real clients from npm, no mocks: viem and ethers v6
// deploy Braid's Solidity token and OpenZeppelin's ERC20 (../shared/programs/evm),
// transfer, approve, read, wait for receipts, fetch Transfer events with
// getLogs and a WebSocket subscription, estimate gas and decode reverts
// (a custom error, a reason string); then a Braid transaction (SCALE-encoded,
// ed25519-signed here) calls the PVM token, checked with braid_call and a
// braid_getProof proof verified offline by `braid verify-proof`.
//
// Run by scripts/node-client-test.sh: BRAID_BIN names the braid binary; the
// test starts `braid node chains/dev` on a free port with a fresh database.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';

import {
  createPublicClient, createWalletClient, defineChain, http, webSocket, keccak256, toBytes, toHex,
  parseAbiItem, BaseError, ContractFunctionRevertedError, hexToBytes, bytesToHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ethers } from 'ethers';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../../../..');
const braidBin = process.env.BRAID_BIN ?? join(repo, 'target/release/braid');
const shared = join(repo, '../shared/programs/evm');

const braidToken = JSON.parse(readFileSync(join(repo, 'chains/dev/contracts/BraidToken.json'), 'utf8'));
const ozPath = join(shared, 'ERC20PresetFixedSupply.json');
let oz;
try {
  oz = JSON.parse(readFileSync(ozPath, 'utf8'));
} catch (e) {
  throw new Error(`the shared programs are missing: expected ${ozPath} beside the repository (${e.message})`);
}

// Public dev keys (chains/dev/chain.toml): keccak256("braid dev account {i}").
const devKey = (i) => keccak256(toBytes(`braid dev account ${i}`));
const CHAIN_ID = 4242;

let node; let url; let wsUrl; let dbDir;

before(async () => {
  dbDir = mkdtempSync(join(tmpdir(), 'braid-node-client-'));
  node = spawn(braidBin, ['node', join(repo, 'chains/dev'), '--db', dbDir, '--http', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  const lines = createInterface({ input: node.stdout });
  const addr = await new Promise((resolve, reject) => {
    node.once('exit', (code) => reject(new Error(`braid node exited with ${code}`)));
    lines.once('line', (line) => {
      const m = line.match(/http:\/\/(\S+)/);
      m ? resolve(m[1]) : reject(new Error(`unexpected first line: ${line}`));
    });
  });
  url = `http://${addr}`;
  wsUrl = `ws://${addr}`;
});

after(async () => {
  if (node && node.exitCode === null) {
    const exited = new Promise((resolve) => node.once('exit', resolve));
    node.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, 'braid node stops cleanly on SIGTERM');
  }
  rmSync(dbDir, { recursive: true, force: true });
});

const chain = () => defineChain({
  id: CHAIN_ID,
  name: 'braid-dev',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
});

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

test('viem: deploy, transfer, approve, read, logs, watch, estimate, revert', async () => {
  const account = privateKeyToAccount(devKey(6));
  const publicClient = createPublicClient({ chain: chain(), transport: http(url) });
  const wallet = createWalletClient({ account, chain: chain(), transport: http(url) });
  const ws = createPublicClient({ chain: chain(), transport: webSocket(wsUrl) });
  assert.equal(await publicClient.getChainId(), CHAIN_ID);

  const recipient = privateKeyToAccount(devKey(7)).address;
  for (const [label, artifact, args] of [
    ['BraidToken', braidToken, ['Viem Braid', 'VBR', 10n ** 24n]],
    ['OpenZeppelin ERC20', oz, ['Viem OZ', 'VOZ', 10n ** 24n, account.address]],
  ]) {
    const abi = artifact.abi;
    const deployHash = await wallet.deployContract({ abi, bytecode: artifact.bytecode, args });
    const deployed = await publicClient.waitForTransactionReceipt({ hash: deployHash });
    assert.equal(deployed.status, 'success', `${label} deploys`);
    const token = deployed.contractAddress;
    assert.ok(token, `${label} has an address`);
    assert.equal(await publicClient.readContract({ address: token, abi, functionName: 'balanceOf', args: [account.address] }), 10n ** 24n);

    // A subscription over WebSocket, installed before the transfer.
    const seen = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: no Transfer event over WebSocket`)), 30000);
      const unwatch = ws.watchContractEvent({
        address: token, abi, eventName: 'Transfer',
        onLogs: (logs) => { clearTimeout(timer); unwatch(); resolve(logs); },
        onError: reject,
      });
    });
    await new Promise((r) => setTimeout(r, 200));

    const gas = await publicClient.estimateContractGas({ address: token, abi, functionName: 'transfer', args: [recipient, 1234n], account });
    const hash = await wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [recipient, 1234n], gas });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    assert.ok(receipt.gasUsed <= gas, `${label}: used ${receipt.gasUsed} within the estimate ${gas}`);
    assert.equal(receipt.logs.length, 1);
    assert.equal(await publicClient.readContract({ address: token, abi, functionName: 'balanceOf', args: [recipient] }), 1234n);

    const watched = await seen;
    assert.equal(watched[0].args.to, recipient);
    assert.equal(watched[0].transactionHash, hash);

    const logs = await publicClient.getLogs({ address: token, event: transferEvent, args: { to: recipient }, fromBlock: deployed.blockNumber, toBlock: 'latest' });
    assert.equal(logs.length, 1);
    assert.equal(logs[0].args.value, 1234n);

    const approve = await wallet.writeContract({ address: token, abi, functionName: 'approve', args: [recipient, 99n] });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash: approve })).status, 'success');
    assert.equal(await publicClient.readContract({ address: token, abi, functionName: 'allowance', args: [account.address, recipient] }), 99n);

    // A revert, decoded: BraidToken's custom error, OpenZeppelin's reason string.
    try {
      await publicClient.simulateContract({ address: token, abi, functionName: 'transfer', args: [recipient, 10n ** 30n], account });
      assert.fail(`${label}: the transfer should revert`);
    } catch (err) {
      assert.ok(err instanceof BaseError, String(err));
      const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
      assert.ok(revert, String(err));
      if (label === 'BraidToken') {
        assert.equal(revert.data.errorName, 'InsufficientBalance');
        assert.equal(revert.data.args[0], account.address);
        assert.equal(revert.data.args[2], 10n ** 30n);
      } else {
        assert.equal(revert.reason, 'ERC20: transfer amount exceeds balance');
      }
    }
  }
  await ws.transport.getRpcClient().then((c) => c.close());
});

test('ethers v6: deploy, transfer, approve, read, logs, subscribe, estimate, revert', async () => {
  const network = new ethers.Network('braid-dev', CHAIN_ID);
  // cacheTimeout -1: ethers otherwise answers a repeated request (the pending
  // nonce) from a 250 ms cache, stale against a node that mines at once (as
  // with anvil or hardhat's automine).
  const provider = new ethers.JsonRpcProvider(url, network, { staticNetwork: network, pollingInterval: 50, cacheTimeout: -1 });
  const wsProvider = new ethers.WebSocketProvider(wsUrl, network, { staticNetwork: network });
  const wallet = new ethers.Wallet(devKey(5), provider);
  const recipient = new ethers.Wallet(devKey(4)).address;
  assert.equal((await provider.getNetwork()).chainId, BigInt(CHAIN_ID));

  for (const [label, artifact, args] of [
    ['BraidToken', braidToken, ['Ethers Braid', 'EBR', 10n ** 24n]],
    ['OpenZeppelin ERC20', oz, ['Ethers OZ', 'EOZ', 10n ** 24n, wallet.address]],
  ]) {
    const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
    const token = await factory.deploy(...args);
    await token.waitForDeployment();
    const address = await token.getAddress();
    assert.equal(await token.balanceOf(wallet.address), 10n ** 24n);

    const watched = new ethers.Contract(address, artifact.abi, wsProvider);
    const seen = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: no Transfer event over WebSocket`)), 30000);
      watched.once('Transfer', (from, to, value, event) => { clearTimeout(timer); resolve({ from, to, value, event }); });
    });
    await new Promise((r) => setTimeout(r, 300));

    const estimate = await token.transfer.estimateGas(recipient, 777n);
    const tx = await token.transfer(recipient, 777n, { gasLimit: estimate });
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.ok(receipt.gasUsed <= estimate);
    assert.equal(await token.balanceOf(recipient), 777n);
    const event = await seen;
    assert.equal(event.to, recipient);
    assert.equal(event.value, 777n);

    const events = await token.queryFilter(token.filters.Transfer(null, recipient), receipt.blockNumber, receipt.blockNumber);
    assert.equal(events.length, 1);
    assert.equal(events[0].transactionHash, receipt.hash);

    await (await token.approve(recipient, 55n)).wait();
    assert.equal(await token.allowance(wallet.address, recipient), 55n);

    try {
      await token.transfer.staticCall(recipient, 10n ** 30n);
      assert.fail(`${label}: the transfer should revert`);
    } catch (err) {
      assert.equal(err.code, 'CALL_EXCEPTION', String(err));
      if (label === 'BraidToken') {
        assert.equal(err.revert?.name, 'InsufficientBalance', String(err));
        assert.equal(err.revert.args[2], 10n ** 30n);
      } else {
        assert.equal(err.reason, 'ERC20: transfer amount exceeds balance');
      }
    }
  }
  await wsProvider.destroy();
  provider.destroy();
});

// ---- A Braid transaction, built and signed here (SCALE + ed25519). ----

const le = (value, bytes) => {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
};
const compact = (n) => {
  if (n < 64) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return le((n << 2) | 1, 2);
  return le((n << 2) | 2, 4);
};
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

// rfcs/0007-chain.md: SCALE(BraidTransaction) with one Call action.
function braidTransaction({ chainId, nonce, gasLimit, maxFee, maxTip, engine, target, input }) {
  const call = concat(Uint8Array.of(0), Uint8Array.of(engine), hexToBytes(target), compact(input.length), input, new Uint8Array(32));
  return concat(le(chainId, 8), le(nonce, 8), le(gasLimit, 8), le(maxFee, 16), le(maxTip, 16), compact(1), call);
}

function ed25519(seed) {
  const der = concat(hexToBytes('0x302e020100300506032b657004220420'), seed);
  const privateKey = crypto.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  const publicKey = new Uint8Array(crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' })).slice(-32);
  return { privateKey, publicKey };
}

test('a Braid transaction to the PVM token, checked by braid_call and an offline proof', async () => {
  const client = createPublicClient({ chain: chain(), transport: http(url) });
  const rpc = (method, params) => client.request({ method, params });
  const { privateKey, publicKey } = ed25519(hexToBytes(keccak256(toBytes('braid dev ed25519 0'))));
  const sender = bytesToHex(hexToBytes(keccak256(publicKey)).slice(12));

  // The PVM token: genesis module braid-token-pvm v1; identity keccak256(chain_id_be8 ‖ name ‖ version_be4)[0..20].
  const identity = bytesToHex(hexToBytes(keccak256(concat(le(0n, 0), hexToBytes(toHex(BigInt(CHAIN_ID), { size: 8 })), toBytes('braid-token-pvm'), hexToBytes(toHex(1, { size: 4 }))))).slice(0, 20));
  const recipient = '0x' + '43'.repeat(20);
  const balanceOf = async (who) => {
    const out = await rpc('braid_call', [{ engine: 'pvm', target: identity, input: bytesToHex(concat(Uint8Array.of(2), hexToBytes(who))) }]);
    assert.equal(out.status, 'halt', JSON.stringify(out));
    return new DataView(hexToBytes(out.output).buffer).getBigUint64(0, true);
  };
  const before = await balanceOf(sender);
  assert.ok(before > 100n, `Braid dev 0 holds PVM tokens (${before})`);

  const nonceState = await rpc('braid_getState', ['system', '0x' + '00'.repeat(20), bytesToHex(concat(Uint8Array.of(3), hexToBytes(sender)))]);
  const nonce = nonceState.value ? BigInt(nonceState.value) : 0n;
  const input = concat(Uint8Array.of(1), hexToBytes(recipient), le(21n, 8));
  const tx = braidTransaction({ chainId: CHAIN_ID, nonce, gasLimit: 2_000_000n, maxFee: 2_000_000_000n, maxTip: 1n, engine: 2, target: identity, input });
  const signature = new Uint8Array(crypto.sign(null, concat(toBytes('braid-tx'), tx), privateKey));
  const signed = bytesToHex(concat(tx, publicKey, signature));
  const hash = await rpc('braid_sendTransaction', [signed]);
  assert.equal(hash, keccak256(signed));
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, 'success');
  const detail = await rpc('braid_getReceipt', [hash]);
  assert.equal(detail.calls[0].status, 'halt');
  assert.equal(await balanceOf(recipient), 21n);
  assert.equal(await balanceOf(sender), before - 21n);

  // The proof of the recipient's balance, checked offline against the header's root.
  const key = bytesToHex(concat(Uint8Array.of(1), hexToBytes(recipient)));
  const proof = await rpc('braid_getProof', ['pvm', identity, key]);
  const block = await client.getBlock({ blockNumber: BigInt(proof.blockNumber) });
  assert.equal(block.stateRoot, proof.stateRoot);
  const verified = execFileSync(braidBin, ['verify-proof', '--root', proof.stateRoot, '--engine', 'pvm', '--identity', identity, '--key', key, '--value', proof.value, '--proof', proof.proof], { encoding: 'utf8' });
  assert.match(verified, /^valid: /);
  assert.equal(proof.value, bytesToHex(le(21n, 8)));
});
