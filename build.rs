//! Compresses tools.toml for the binary. The catalog is a third of a megabyte of text
//! (descriptions and search's example intents) and deflates to a quarter of that; the
//! server inflates it once at start-up (`catalog::embedded`).

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=tools.toml");
    let text = std::fs::read("tools.toml")?;
    let packed = miniz_oxide::deflate::compress_to_vec(&text, 10);
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("tools.toml.deflate");
    std::fs::write(out, packed)?;
    Ok(())
}
