//! The chain spec: a TOML file giving the chain id, EVM spec id, gas rates and
//! genesis (a geth-style EVM alloc with code and storage).
//!
//! ```toml
//! [chain]
//! name = "braid-dev"
//! chain_id = 4242
//! evm_spec = "prague"        # cancun | prague | osaka
//! block_gas_limit = 30000000 # EVM gas
//! base_fee = 7               # wei per gas, fixed
//!
//! [gas]                      # Braid gas per native gas unit, per engine
//! evm = 1
//!
//! [genesis]                  # required, as are its timestamp and coinbase
//! timestamp = 1700000000
//! coinbase = "0x0000000000000000000000000000000000000000"
//!
//! [genesis.alloc."0x1111111111111111111111111111111111111111"]
//! balance = "1000000000000000000000"   # decimal or 0x-hex wei
//! nonce = 0
//! code = "0x6000"
//! storage = { "0x00" = "0x01" }
//!
//! [pvm]                      # optional
//! backend = "compiler"       # interpreter | compiler; default: the compiler
//!                            # where it runs (x86-64 Linux), else the interpreter
//!
//! [[plugins]]                # engine plugins, pinned by SHA-256 (RFC 0005)
//! engine = "0x10"            # 0x10..=0xfe
//! path = "plugins/libbraid_plugin_stack.so"   # relative to the spec's folder
//! sha256 = "<64 hex digits>"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, U256};
use braid_core::{EngineId, GasRates};
use serde::Deserialize;

use crate::{ChainError, Result};

/// The EVM rules the chain runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvmSpec {
    /// Cancun (EIP-4844, EIP-1153, EIP-5656, EIP-6780).
    Cancun,
    /// Prague (EIP-7702, EIP-2537, EIP-7623, ...).
    Prague,
    /// Osaka.
    Osaka,
}

impl EvmSpec {
    /// The revm spec id.
    pub fn spec_id(self) -> revm::primitives::hardfork::SpecId {
        use revm::primitives::hardfork::SpecId;
        match self {
            EvmSpec::Cancun => SpecId::CANCUN,
            EvmSpec::Prague => SpecId::PRAGUE,
            EvmSpec::Osaka => SpecId::OSAKA,
        }
    }
}

/// One genesis EVM account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Address.
    pub address: Address,
    /// Balance, in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Runtime code (empty for none).
    pub code: Vec<u8>,
    /// Storage slots, both 32-byte big-endian; zero values are dropped.
    pub storage: BTreeMap<U256, U256>,
}

/// An engine plugin pinned by the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginPin {
    /// The engine id it is assigned, in `0x10..=0xFE`.
    pub engine: EngineId,
    /// The shared library; relative paths are resolved against the spec's folder
    /// by [`ChainSpec::load`].
    pub path: PathBuf,
    /// The SHA-256 the library must have.
    pub sha256: [u8; 32],
}

/// A validated chain spec.
#[derive(Clone, Debug)]
pub struct ChainSpec {
    /// Human name.
    pub name: String,
    /// EIP-155 chain id, also signed into Braid transactions.
    pub chain_id: u64,
    /// EVM rules.
    pub evm_spec: EvmSpec,
    /// Block gas limit, in EVM gas.
    pub block_gas_limit: u64,
    /// Base fee, in wei per gas (fixed for the chain).
    pub base_fee: u64,
    /// Braid gas per native gas unit, per engine.
    pub gas_rates: GasRates,
    /// Genesis timestamp, Unix seconds.
    pub genesis_timestamp: u64,
    /// Fee recipient of every block.
    pub coinbase: Address,
    /// Genesis EVM accounts, sorted by address.
    pub alloc: Vec<GenesisAccount>,
    /// Engine plugins to load, in order.
    pub plugins: Vec<PluginPin>,
    /// Modules deployed at genesis (PVM and WASM), in spec order.
    pub modules: Vec<GenesisModule>,
    /// The backend that runs PVM code (`[pvm] backend`): not consensus,
    /// every backend gives the same roots (RFC 0011).
    pub pvm_backend: braid_pvm::Backend,
}

/// A module deployed at genesis (`[[genesis.modules]]`): its identity is
/// `module_identity(chain_id, name, version)` (DESIGN.md "State").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisModule {
    /// The engine that runs it (`pvm`: 0x02, `wasm`: 0x03).
    pub engine: EngineId,
    /// Module name (UTF-8, 1..=64 bytes).
    pub name: String,
    /// Module version.
    pub version: u32,
    /// The code file, relative to the spec's folder until [`ChainSpec::load`]
    /// resolves it.
    pub path: PathBuf,
    /// The code, read by [`ChainSpec::load`] (empty after [`ChainSpec::parse`]).
    pub code: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    engine: String,
    name: String,
    version: u32,
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    chain: RawChain,
    #[serde(default)]
    gas: BTreeMap<String, u64>,
    genesis: Option<RawGenesis>,
    #[serde(default)]
    plugins: Vec<RawPlugin>,
    pvm: Option<RawPvm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPvm {
    backend: Option<String>,
}

/// The `[pvm] backend` field: a backend this machine can run.
fn pvm_backend(raw: Option<&RawPvm>) -> Result<braid_pvm::Backend> {
    let Some(name) = raw.and_then(|p| p.backend.as_deref()) else {
        return Ok(braid_pvm::Backend::native_default());
    };
    let backend = braid_pvm::Backend::from_name(name)
        .ok_or_else(|| field_err("pvm.backend", name, "expected interpreter or compiler"))?;
    if !backend.is_available() {
        return Err(field_err(
            "pvm.backend",
            name,
            "not available on this machine (the compiler needs x86-64 Linux with POPCNT, LZCNT, BMI1 and BMI2)",
        ));
    }
    Ok(backend)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    engine: String,
    path: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    name: String,
    chain_id: u64,
    evm_spec: String,
    #[serde(default = "default_block_gas_limit")]
    block_gas_limit: u64,
    #[serde(default)]
    base_fee: u64,
}

fn default_block_gas_limit() -> u64 {
    30_000_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenesis {
    timestamp: Option<u64>,
    coinbase: Option<String>,
    #[serde(default)]
    alloc: BTreeMap<String, RawAccount>,
    #[serde(default)]
    modules: Vec<RawModule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    #[serde(default)]
    balance: Option<String>,
    #[serde(default)]
    nonce: u64,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    storage: BTreeMap<String, String>,
}

fn field_err(
    field: impl Into<String>,
    value: impl Into<String>,
    reason: impl Into<String>,
) -> ChainError {
    ChainError::SpecField {
        field: field.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Parses a 0x-hex byte string.
pub(crate) fn parse_hex_bytes(field: &str, text: &str) -> Result<Vec<u8>> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| field_err(field, text, format!("not hex bytes: {e}")))
}

/// Parses a 20-byte 0x-hex address.
pub(crate) fn parse_address(field: &str, text: &str) -> Result<Address> {
    let bytes = parse_hex_bytes(field, text)?;
    if bytes.len() != 20 {
        return Err(field_err(
            field,
            text,
            format!("an address is 20 bytes, this is {}", bytes.len()),
        ));
    }
    Ok(Address::from_slice(&bytes))
}

/// Parses a 256-bit number written in decimal or 0x-hex.
pub(crate) fn parse_u256(field: &str, text: &str) -> Result<U256> {
    // "0x" and "" have no digits: neither is zero (write "0" or "0x0").
    let parsed = match text.strip_prefix("0x") {
        Some("") => return Err(field_err(field, text, "no digits after 0x")),
        Some(hex) => U256::from_str_radix(hex, 16),
        None if text.is_empty() => return Err(field_err(field, text, "no digits")),
        None => U256::from_str_radix(text, 10),
    };
    parsed.map_err(|e| field_err(field, text, format!("not a 256-bit number: {e}")))
}

fn engine_of_rate_key(key: &str) -> Result<EngineId> {
    let id = match key {
        "evm" => EngineId::EVM,
        "pvm" => EngineId::PVM,
        "wasm" => EngineId::WASM,
        other => {
            let digits = other.strip_prefix("0x").unwrap_or(other);
            let id = u8::from_str_radix(digits, 16).map_err(|_| {
                field_err(
                    format!("gas.{key}"),
                    key,
                    "expected evm, pvm, wasm or a plugin id 0x10..0xfe",
                )
            })?;
            EngineId(id)
        }
    };
    if !id.is_assignable() || id == EngineId::SYSTEM {
        return Err(field_err(
            format!("gas.{key}"),
            key,
            "not an engine id (0x01..0x03 or 0x10..0xfe)",
        ));
    }
    Ok(id)
}

/// The `[gas]` rates, checked against the block budget: `block_gas_limit`
/// EVM gas at the EVM's rate, in Braid gas, must fit in a u64, and every
/// engine's rate must let a block buy at least one unit of its gas.
fn gas_rates(raw: &BTreeMap<String, u64>, block_gas_limit: u64) -> Result<GasRates> {
    let mut gas_rates = GasRates::default();
    let mut named: BTreeMap<EngineId, &str> = BTreeMap::new();
    for (key, rate) in raw {
        let engine = engine_of_rate_key(key)?;
        if *rate == 0 {
            return Err(field_err(
                format!("gas.{key}"),
                "0",
                "a rate is at least 1 Braid gas per unit",
            ));
        }
        if let Some(other) = named.insert(engine, key) {
            return Err(field_err(
                format!("gas.{key}"),
                rate.to_string(),
                format!("gas.{other} already sets the rate of engine {engine}"),
            ));
        }
        gas_rates.set(engine, *rate);
    }
    let evm_rate = gas_rates.rate(EngineId::EVM);
    let Some(budget) = block_gas_limit.checked_mul(evm_rate) else {
        let field = named.get(&EngineId::EVM).copied().unwrap_or("evm");
        return Err(field_err(
            format!("gas.{field}"),
            evm_rate.to_string(),
            format!(
                "the block budget, chain.block_gas_limit {block_gas_limit} EVM gas at this rate, \
                 overflows a u64 of Braid gas"
            ),
        ));
    };
    for (engine, key) in &named {
        let rate = gas_rates.rate(*engine);
        if rate > budget {
            return Err(field_err(
                format!("gas.{key}"),
                rate.to_string(),
                format!(
                    "above the block budget of {budget} Braid gas: a block could not buy one \
                     unit of engine {engine}'s gas"
                ),
            ));
        }
    }
    Ok(gas_rates)
}

/// Gas of the cheapest Ethereum transaction (a plain transfer).
const TRANSFER_GAS: u128 = 21_000;

/// The base fee is fixed for the chain and no block mints coins, so a base
/// fee at which no genesis account can pay for a plain transfer makes every
/// fee-paying transaction invalid forever.
fn check_base_fee(base_fee: u64, alloc: &[GenesisAccount]) -> Result<()> {
    if base_fee == 0 {
        return Ok(());
    }
    let cost = U256::from(TRANSFER_GAS * u128::from(base_fee));
    let richest = alloc.iter().map(|a| a.balance).max().unwrap_or(U256::ZERO);
    if richest < cost {
        return Err(field_err(
            "chain.base_fee",
            base_fee.to_string(),
            format!(
                "a 21000-gas transfer costs {cost} wei at this base fee, more than any genesis \
                 account holds (the largest balance is {richest} wei)"
            ),
        ));
    }
    Ok(())
}

impl ChainSpec {
    /// The block's gas budget in Braid gas (RFC 0009): `block_gas_limit`
    /// (EVM gas) at the EVM's rate. Every transaction's gas limit, Ethereum
    /// or Braid, counts against it.
    pub fn block_braid_gas_limit(&self) -> u64 {
        self.gas_rates.to_braid(EngineId::EVM, self.block_gas_limit)
    }

    /// Reads and validates a spec file.
    ///
    /// # Errors
    /// [`ChainError::Io`], [`ChainError::SpecSyntax`] with line and column,
    /// [`ChainError::SpecField`] naming the field and its value (a malformed
    /// value, a rate that overflows the block budget, a base fee no genesis
    /// account can pay, a module identity given twice), or
    /// [`ChainError::SpecMissing`] naming a required field that is absent
    /// (`[genesis]`, `genesis.timestamp`, `genesis.coinbase`).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ChainError::Io {
            path: path.into(),
            source,
        })?;
        let mut spec = Self::parse(&text).map_err(|e| match e {
            ChainError::SpecSyntax { message, .. } => ChainError::SpecSyntax {
                path: path.into(),
                message,
            },
            other => other,
        })?;
        let folder = path.parent().unwrap_or(Path::new("."));
        for pin in &mut spec.plugins {
            if pin.path.is_relative() {
                pin.path = folder.join(&pin.path);
            }
        }
        for module in &mut spec.modules {
            if module.path.is_relative() {
                module.path = folder.join(&module.path);
            }
            module.code = std::fs::read(&module.path).map_err(|source| ChainError::Io {
                path: module.path.clone(),
                source,
            })?;
        }
        Ok(spec)
    }

    /// Parses and validates spec text.
    ///
    /// # Errors
    /// As [`ChainSpec::load`].
    pub fn parse(text: &str) -> Result<Self> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| ChainError::SpecSyntax {
            path: "<text>".into(),
            message: e.to_string(),
        })?;
        let evm_spec = match raw.chain.evm_spec.to_ascii_lowercase().as_str() {
            "cancun" => EvmSpec::Cancun,
            "prague" => EvmSpec::Prague,
            "osaka" => EvmSpec::Osaka,
            _ => {
                return Err(field_err(
                    "chain.evm_spec",
                    raw.chain.evm_spec,
                    "expected cancun, prague or osaka",
                ));
            }
        };
        if raw.chain.chain_id == 0 {
            return Err(field_err(
                "chain.chain_id",
                "0",
                "the chain id must be non-zero (EIP-155)",
            ));
        }
        if raw.chain.block_gas_limit < 21_000 {
            return Err(field_err(
                "chain.block_gas_limit",
                raw.chain.block_gas_limit.to_string(),
                "below the 21000 gas of one transfer",
            ));
        }
        let gas_rates = gas_rates(&raw.gas, raw.chain.block_gas_limit)?;
        let Some(genesis) = raw.genesis else {
            return Err(ChainError::SpecMissing {
                field: "genesis",
                reason: "the [genesis] table gives block 0's timestamp and coinbase",
            });
        };
        let Some(timestamp) = genesis.timestamp else {
            return Err(ChainError::SpecMissing {
                field: "genesis.timestamp",
                reason: "block 0's Unix time in seconds has no default",
            });
        };
        let coinbase = match &genesis.coinbase {
            Some(text) => parse_address("genesis.coinbase", text)?,
            None => {
                return Err(ChainError::SpecMissing {
                    field: "genesis.coinbase",
                    reason: "the fee recipient has no default (write the zero address to burn fees)",
                });
            }
        };
        let mut alloc = Vec::with_capacity(genesis.alloc.len());
        for (addr_text, account) in &genesis.alloc {
            let base = format!("genesis.alloc.{addr_text}");
            let address = parse_address(&base, addr_text)?;
            let balance = match &account.balance {
                Some(b) => parse_u256(&format!("{base}.balance"), b)?,
                None => U256::ZERO,
            };
            let code = match &account.code {
                Some(c) => parse_hex_bytes(&format!("{base}.code"), c)?,
                None => Vec::new(),
            };
            if code.len() > 24_576 {
                return Err(field_err(
                    format!("{base}.code"),
                    format!("{} bytes", code.len()),
                    "over the EIP-170 limit of 24576 bytes",
                ));
            }
            let mut storage = BTreeMap::new();
            for (slot, value) in &account.storage {
                let slot_n = parse_u256(&format!("{base}.storage"), slot)?;
                let value_n = parse_u256(&format!("{base}.storage.{slot}"), value)?;
                if !value_n.is_zero() {
                    storage.insert(slot_n, value_n);
                }
            }
            if alloc.iter().any(|a: &GenesisAccount| a.address == address) {
                return Err(field_err(
                    &base,
                    addr_text.as_str(),
                    "the same address appears twice",
                ));
            }
            alloc.push(GenesisAccount {
                address,
                balance,
                nonce: account.nonce,
                code,
                storage,
            });
        }
        alloc.sort_by_key(|a| a.address);
        check_base_fee(raw.chain.base_fee, &alloc)?;
        let mut plugins: Vec<PluginPin> = Vec::with_capacity(raw.plugins.len());
        for (i, raw_pin) in raw.plugins.iter().enumerate() {
            let field = format!("plugins[{i}]");
            let digits = raw_pin.engine.strip_prefix("0x").unwrap_or(&raw_pin.engine);
            let engine = u8::from_str_radix(digits, 16)
                .ok()
                .map(EngineId)
                .filter(|e| (EngineId::FIRST_PLUGIN..=EngineId::LAST_PLUGIN).contains(&e.0))
                .ok_or_else(|| {
                    field_err(
                        format!("{field}.engine"),
                        &raw_pin.engine,
                        "a plugin engine id is 0x10..=0xfe",
                    )
                })?;
            if plugins.iter().any(|p| p.engine == engine) {
                return Err(field_err(
                    format!("{field}.engine"),
                    &raw_pin.engine,
                    "two plugins share this engine id",
                ));
            }
            let sha256: [u8; 32] = parse_hex_bytes(&format!("{field}.sha256"), &raw_pin.sha256)?
                .try_into()
                .map_err(|v: Vec<u8>| {
                    field_err(
                        format!("{field}.sha256"),
                        &raw_pin.sha256,
                        format!("a SHA-256 is 32 bytes, this is {}", v.len()),
                    )
                })?;
            plugins.push(PluginPin {
                engine,
                path: PathBuf::from(&raw_pin.path),
                sha256,
            });
        }
        let mut modules: Vec<GenesisModule> = Vec::with_capacity(genesis.modules.len());
        for (i, m) in genesis.modules.iter().enumerate() {
            let field = format!("genesis.modules[{i}]");
            let engine = match m.engine.as_str() {
                "pvm" => EngineId::PVM,
                "wasm" => EngineId::WASM,
                _ => {
                    return Err(field_err(
                        format!("{field}.engine"),
                        &m.engine,
                        "genesis modules run on `pvm` or `wasm`",
                    ));
                }
            };
            if m.name.is_empty() || m.name.len() > 64 {
                return Err(field_err(
                    format!("{field}.name"),
                    &m.name,
                    "a module name is 1..=64 bytes",
                ));
            }
            // The identity derives from the name and version only (DESIGN.md
            // "State"), so one name and version names one module, whatever
            // its engine.
            if let Some(j) = modules
                .iter()
                .position(|o| o.name == m.name && o.version == m.version)
            {
                return Err(field_err(
                    format!("{field}.name"),
                    format!("{} v{}", m.name, m.version),
                    format!(
                        "genesis.modules[{j}] has the same name and version, so the same identity"
                    ),
                ));
            }
            modules.push(GenesisModule {
                engine,
                name: m.name.clone(),
                version: m.version,
                path: PathBuf::from(&m.path),
                code: Vec::new(),
            });
        }
        let pvm_backend = pvm_backend(raw.pvm.as_ref())?;
        Ok(ChainSpec {
            pvm_backend,
            name: raw.chain.name,
            chain_id: raw.chain.chain_id,
            evm_spec,
            block_gas_limit: raw.chain.block_gas_limit,
            base_fee: raw.chain.base_fee,
            gas_rates,
            genesis_timestamp: timestamp,
            coinbase,
            alloc,
            plugins,
            modules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[chain]
name = "t"
chain_id = 7
evm_spec = "prague"
[gas]
evm = 2
[genesis]
timestamp = 1700000000
coinbase = "0x0000000000000000000000000000000000000000"
[genesis.alloc."0x1111111111111111111111111111111111111111"]
balance = "0x10"
storage = { "0x01" = "0x02", "0x03" = "0x00" }
"#;

    #[test]
    fn good_spec_parses() {
        let spec = ChainSpec::parse(GOOD).unwrap();
        assert_eq!(spec.chain_id, 7);
        assert_eq!(spec.gas_rates.rate(EngineId::EVM), 2);
        assert_eq!(spec.alloc[0].balance, U256::from(16));
        assert_eq!(spec.alloc[0].storage.len(), 1, "zero slots are dropped");
    }

    fn err_of(text: &str) -> String {
        ChainSpec::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn malformed_specs_name_the_offending_value() {
        assert!(err_of("[chain\nname=").contains("chain spec"));
        assert!(err_of(&GOOD.replace("prague", "shanghai2")).contains("\"shanghai2\""));
        assert!(err_of(&GOOD.replace("chain_id = 7", "chain_id = 0")).contains("chain.chain_id"));
        assert!(err_of(&GOOD.replace("evm = 2", "evm = 0")).contains("gas.evm"));
        assert!(err_of(&GOOD.replace("evm = 2", "zvm = 2")).contains("gas.zvm"));
        assert!(
            err_of(&GOOD.replace("name = \"t\"", "name = \"t\"\nunknown = 1")).contains("unknown")
        );
    }

    #[test]
    fn bad_genesis_entries_name_the_field_and_value() {
        let e = err_of(&GOOD.replace("0x1111111111111111111111111111111111111111", "0x1111"));
        assert!(
            e.contains("genesis.alloc.0x1111") && e.contains("20 bytes"),
            "{e}"
        );
        let e = err_of(&GOOD.replace("\"0x10\"", "\"12ab\""));
        assert!(e.contains(".balance") && e.contains("12ab"), "{e}");
        let e = err_of(&GOOD.replace("\"0x02\"", "\"0xzz\""));
        assert!(e.contains("storage") && e.contains("0xzz"), "{e}");
        let e = err_of(&GOOD.replace("balance = \"0x10\"", "code = \"0x6\""));
        assert!(e.contains(".code"), "{e}");
    }

    #[test]
    fn genesis_and_its_timestamp_and_coinbase_are_required() {
        let missing = |text: &str| match ChainSpec::parse(text).unwrap_err() {
            ChainError::SpecMissing { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(
            missing(&GOOD.replace("timestamp = 1700000000\n", "")),
            "genesis.timestamp"
        );
        assert_eq!(
            missing(&GOOD.replace(
                "coinbase = \"0x0000000000000000000000000000000000000000\"\n",
                ""
            )),
            "genesis.coinbase"
        );
        let without_genesis = GOOD.split("[genesis]").next().unwrap();
        assert_eq!(missing(without_genesis), "genesis");
    }

    #[test]
    fn absurd_gas_rates_and_base_fees_are_refused() {
        // 30M EVM gas × 2^40 overflows a u64 of Braid gas.
        let e = err_of(&GOOD.replace("evm = 2", "evm = 1099511627776"));
        assert!(e.contains("gas.evm") && e.contains("overflows"), "{e}");
        // A PVM rate above the whole block budget (30M × 2).
        let e = err_of(&GOOD.replace("evm = 2", "evm = 2\npvm = 60000001"));
        assert!(e.contains("gas.pvm") && e.contains("60000001"), "{e}");
        assert!(ChainSpec::parse(&GOOD.replace("evm = 2", "evm = 2\npvm = 60000000")).is_ok());
        // Two keys for one engine.
        let e = err_of(&GOOD.replace("evm = 2", "evm = 2\n\"0x01\" = 3"));
        assert!(e.contains("gas.") && e.contains("already sets"), "{e}");
        // The richest genesis account holds 16 wei: a base fee of 1 wei
        // (21000 wei per transfer) is too much for it.
        let e = err_of(&GOOD.replace("evm_spec", "base_fee = 1\nevm_spec"));
        assert!(e.contains("chain.base_fee") && e.contains("16 wei"), "{e}");
        let rich = GOOD
            .replace("evm_spec", "base_fee = 1\nevm_spec")
            .replace("\"0x10\"", "\"21000\"");
        assert!(ChainSpec::parse(&rich).is_ok());
    }

    #[test]
    fn a_module_identity_is_given_once_across_engines() {
        let module = |engine: &str| {
            format!(
                "[[genesis.modules]]\nengine = \"{engine}\"\nname = \"m\"\nversion = 1\npath = \"m\"\n"
            )
        };
        let e = err_of(&format!("{GOOD}{}{}", module("pvm"), module("wasm")));
        assert!(
            e.contains("genesis.modules[1].name") && e.contains("genesis.modules[0]"),
            "{e}"
        );
        assert!(ChainSpec::parse(&format!("{GOOD}{}", module("wasm"))).is_ok());
    }

    #[test]
    fn plugin_pins_are_checked() {
        let pin = |engine: &str, sha: &str| {
            format!(
                "{GOOD}\n[[plugins]]\nengine = \"{engine}\"\npath = \"p.so\"\nsha256 = \"{sha}\"\n"
            )
        };
        let sha = "ab".repeat(32);
        let spec = ChainSpec::parse(&pin("0x10", &sha)).unwrap();
        assert_eq!(spec.plugins[0].engine, EngineId(0x10));
        let e = ChainSpec::parse(&pin("0x01", &sha))
            .unwrap_err()
            .to_string();
        assert!(e.contains("plugins[0].engine") && e.contains("0x01"), "{e}");
        let e = ChainSpec::parse(&pin("0x10", "abcd"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("plugins[0].sha256") && e.contains("2"), "{e}");
        let twice = format!(
            "{}[[plugins]]\nengine = \"0x10\"\npath = \"q.so\"\nsha256 = \"{sha}\"\n",
            pin("0x10", &sha)
        );
        assert!(
            ChainSpec::parse(&twice)
                .unwrap_err()
                .to_string()
                .contains("share")
        );
    }

    #[test]
    fn the_pvm_backend_is_chosen_by_name() {
        assert_eq!(
            ChainSpec::parse(GOOD).unwrap().pvm_backend,
            braid_pvm::Backend::native_default()
        );
        let with = |name: &str| ChainSpec::parse(&format!("{GOOD}\n[pvm]\nbackend = \"{name}\"\n"));
        assert_eq!(
            with("interpreter").unwrap().pvm_backend,
            braid_pvm::Backend::Interpreter
        );
        if braid_pvm::Backend::Compiler.is_available() {
            assert_eq!(
                with("compiler").unwrap().pvm_backend,
                braid_pvm::Backend::Compiler
            );
        }
        let e = with("jit").unwrap_err().to_string();
        assert!(e.contains("pvm.backend") && e.contains("jit"), "{e}");
    }
}
