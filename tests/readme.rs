//! The README's tool table is generated from the catalog; this keeps it from drifting.
//! Regenerate with `UPDATE_README=1 cargo test --test readme`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mistral_mcp::config::{Config, Overrides};

const START: &str = "<!-- tools:start -->\n";
const END: &str = "<!-- tools:end -->";

#[test]
fn readme_tool_table_matches_the_catalog() {
    let config = Config::load_with(&Overrides::default(), &|_| None).unwrap();
    let server = mistral_mcp::app::build_server(&config).unwrap();
    let table = mistral_mcp::app::tools_markdown(&server);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(START)
        .expect("README lacks the tools:start marker")
        + START.len();
    let end = readme.find(END).expect("README lacks the tools:end marker");
    let current = &readme[start..end];
    if current != table {
        if std::env::var("UPDATE_README").is_ok() {
            let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!("README tool table is out of date: run `UPDATE_README=1 cargo test --test readme`");
    }
}
