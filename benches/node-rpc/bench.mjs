// The same client script against `braid node` and hardhat's node (npm,
// pinned in package-lock.json): throughput of signed transfers through
// eth_sendRawTransaction, and the latency of eth_call and eth_getBalance
// while that load runs.
//
//   node bench.mjs --target braid|hardhat [--mode automine|interval] [--txs 4000] [--clients 16]
//
// Both nodes get the same pre-signed bytes (16 senders, EIP-1559 transfers of
// 1 wei, sequential nonces per sender, senders concurrent, each sending as
// fast as its node answers), the same chain id and funded keys. The clock
// runs from the first submission until every transaction has a receipt. A
// 17th key deploys Braid's token first; a reader loop meanwhile alternates
// eth_call(balanceOf) and eth_getBalance and records each latency.
// Prints one JSON line. Needs `cargo build --release --workspace` for braid.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http, keccak256, toBytes, encodeFunctionData, encodeDeployData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const target = arg('target', 'braid');
const mode = arg('mode', 'automine');
const total = Number(arg('txs', '4000'));
const clients = Number(arg('clients', '16'));
const intervalMs = 1000;
const CHAIN_ID = 4545;
const keys = Array.from({ length: 17 }, (_, i) => keccak256(toBytes(`braid rpc bench ${i}`)));
const token = JSON.parse(readFileSync(join(repo, 'chains/dev/contracts/BraidToken.json'), 'utf8'));

async function startBraid() {
  const dir = mkdtempSync(join(tmpdir(), 'braid-rpc-bench-'));
  mkdirSync(join(dir, 'chain'));
  let spec = `[chain]\nname = "rpc-bench"\nchain_id = ${CHAIN_ID}\nevm_spec = "prague"\nbase_fee = 1000000000\n\n[genesis]\ntimestamp = 1767225600\ncoinbase = "0x0000000000000000000000000000000000000000"\n\n[genesis.alloc]\n`;
  for (const k of keys) spec += `"${privateKeyToAccount(k).address}" = { balance = "1000000000000000000000000" }\n`;
  writeFileSync(join(dir, 'chain/chain.toml'), spec);
  const args = ['node', join(dir, 'chain'), '--db', join(dir, 'db'), '--http', '127.0.0.1:0'];
  if (mode === 'interval') args.push('--block-time', String(intervalMs));
  const child = spawn(join(repo, 'target/release/braid'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { url: `http://${line.match(/http:\/\/(\S+)/)[1]}`, stop: () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

async function startHardhat() {
  const port = 18545 + Math.floor(Math.random() * 1000);
  const env = { ...process.env, BENCH_INTERVAL_MS: mode === 'interval' ? String(intervalMs) : '0' };
  const child = spawn(join(here, 'node_modules/.bin/hardhat'), ['node', '--port', String(port), '--config', join(here, 'hardhat.config.cjs')], { cwd: here, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => {
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (l) => { if (l.includes('Started HTTP')) resolve(); });
  });
  child.stdout.resume();
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];

async function main() {
  const node = target === 'braid' ? await startBraid() : await startHardhat();
  const client = createPublicClient({ transport: http(node.url, { batch: false, retryCount: 0 }) });
  const rpc = (method, params) => client.request({ method, params });
  const fees = { maxFeePerGas: 100_000_000_000n, maxPriorityFeePerGas: 1n };

  // Deploy the token from the 17th key.
  const deployer = privateKeyToAccount(keys[16]);
  const deploy = await deployer.signTransaction({ chainId: CHAIN_ID, type: 'eip1559', nonce: 0, gas: 2_000_000n, ...fees,
    data: encodeDeployData({ abi: token.abi, bytecode: token.bytecode, args: ['Bench', 'BEN', 10n ** 24n] }) });
  const deployHash = await rpc('eth_sendRawTransaction', [deploy]);
  let deployed;
  while (!(deployed = await rpc('eth_getTransactionReceipt', [deployHash]))) await new Promise((r) => setTimeout(r, 20));
  const tokenAddress = deployed.contractAddress;

  // Pre-sign every transfer (not timed).
  const per = Math.floor(total / clients);
  const signed = [];
  for (let c = 0; c < clients; c++) {
    const account = privateKeyToAccount(keys[c]);
    const txs = [];
    for (let n = 0; n < per; n++) {
      txs.push(await account.signTransaction({ chainId: CHAIN_ID, type: 'eip1559', nonce: n, gas: 21_000n, to: '0x000000000000000000000000000000000000bEEF', value: 1n, ...fees }));
    }
    signed.push(txs);
  }

  const latencies = { eth_call: [], eth_getBalance: [] };
  let loading = true;
  const reader = (async () => {
    const call = { to: tokenAddress, data: encodeFunctionData({ abi: token.abi, functionName: 'balanceOf', args: [deployer.address] }) };
    while (loading) {
      let t = performance.now();
      await rpc('eth_call', [call, 'latest']);
      latencies.eth_call.push(performance.now() - t);
      t = performance.now();
      await rpc('eth_getBalance', [deployer.address, 'latest']);
      latencies.eth_getBalance.push(performance.now() - t);
    }
  })();

  const started = performance.now();
  const hashes = await Promise.all(signed.map(async (txs) => {
    const out = [];
    for (const raw of txs) out.push(await rpc('eth_sendRawTransaction', [raw]));
    return out;
  }));
  const submitted = performance.now() - started;
  for (const list of hashes) {
    const last = list[list.length - 1];
    while (!(await rpc('eth_getTransactionReceipt', [last]))) await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = performance.now() - started;
  loading = false;
  await reader;
  const blocks = Number(await rpc('eth_blockNumber', []));
  node.stop();

  const summary = (list) => {
    const s = [...list].sort((a, b) => a - b);
    return { n: s.length, p50: +percentile(s, 0.5).toFixed(3), p90: +percentile(s, 0.9).toFixed(3), p99: +percentile(s, 0.99).toFixed(3) };
  };
  console.log(JSON.stringify({
    target, mode, txs: per * clients, clients, blocks,
    submit_s: +(submitted / 1000).toFixed(2), mined_s: +(elapsed / 1000).toFixed(2),
    tx_per_s: Math.round((per * clients) / (elapsed / 1000)),
    eth_call_ms: summary(latencies.eth_call), eth_getBalance_ms: summary(latencies.eth_getBalance),
  }));
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
