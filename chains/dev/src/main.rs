//! `braid-dev`: regenerates a dev chain's bundled blocks.
//!
//! `braid-dev blocks <chain-dir>` writes `<chain-dir>/blocks/NNNN.json`,
//! signed with the public dev keys (`braid_dev`); `chains/dev/rebuild.sh`
//! calls it. Kept apart from the `braid` binary: the product does not ship
//! its dev-chain generator.

use std::path::PathBuf;
use std::process::ExitCode;

use braid_chain::ChainSpec;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, chain] = args.as_slice() else {
        eprintln!("usage: braid-dev blocks <chain-dir>");
        return ExitCode::from(2);
    };
    if command != "blocks" {
        eprintln!("unknown command {command:?}; usage: braid-dev blocks <chain-dir>");
        return ExitCode::from(2);
    }
    match write_blocks(&PathBuf::from(chain)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_blocks(chain: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let spec = ChainSpec::load(&chain.join("chain.toml"))?;
    let blocks = braid_dev::generate_blocks(&spec, chain)?;
    let dir = chain.join("blocks");
    std::fs::create_dir_all(&dir)?;
    for block in &blocks {
        let path = dir.join(format!("{:04}.json", block.number));
        std::fs::write(&path, braid_dev::block_json(block))?;
        println!(
            "wrote {} ({} transactions)",
            path.display(),
            block.transactions.len()
        );
    }
    Ok(())
}
