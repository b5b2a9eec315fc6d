//! Packs tools.toml for the binary, in two parts. The catalog proper (names, descriptions,
//! summaries) is read at every start-up; search's example intents, three quarters of the
//! file, are read only on the first search, so they are split out and start-up never parses
//! them. Both parts are deflated (the server inflates them with `catalog::embedded` and
//! `catalog::embedded_examples`).

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=tools.toml");
    let text = std::fs::read_to_string("tools.toml")?;
    let mut catalog: toml::Table = toml::from_str(&text)?;
    // `id<TAB>example` lines.
    let mut examples = String::new();
    if let Some(toml::Value::Table(tools)) = catalog.get_mut("tools") {
        for (id, tool) in tools.iter_mut() {
            let Some(toml::Value::Array(list)) =
                tool.as_table_mut().and_then(|t| t.remove("examples"))
            else {
                continue;
            };
            for example in list {
                match example.as_str() {
                    Some(s) if !s.contains(['\t', '\n']) => writeln!(examples, "{id}\t{s}")?,
                    _ => {
                        return Err(format!(
                            "tools.{id}.examples: {example} is not a one-line string"
                        )
                        .into());
                    }
                }
            }
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let pack = |name: &str, bytes: &[u8]| {
        std::fs::write(
            out.join(name),
            miniz_oxide::deflate::compress_to_vec(bytes, 10),
        )
    };
    pack("tools.toml.deflate", toml::to_string(&catalog)?.as_bytes())?;
    pack("examples.tsv.deflate", examples.as_bytes())?;
    Ok(())
}
