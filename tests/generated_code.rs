//! The checked-in generated operation layer (`src/api/generated/`) is exactly what the
//! generator makes from Mistral's spec and `tools.toml`. Fails on any difference; run
//! `scripts/generate` (which sets `UPDATE_GENERATED=1`) to rewrite the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codegen;
mod common;

use std::path::PathBuf;

use common::spec;

#[test]
fn generated_code_matches_the_spec_and_the_catalog() {
    let (Some(current), Some(old)) = (spec::spec(), spec::old_spec()) else {
        eprintln!("*** SKIPPED: the generator needs both spec files ***");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let catalog = std::fs::read_to_string(root.join("tools.toml")).unwrap();
    let ops = codegen::catalog_ops(&catalog).unwrap();
    // Schemas nest deeply and the generator recurses through them: give it room.
    let files = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, || {
                codegen::generate(&[current.doc(), old.doc()], &ops)
            })
            .unwrap()
            .join()
            .unwrap()
    })
    .unwrap();
    let dir = root.join("src/api/generated");
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    let files: std::collections::BTreeMap<String, String> = files
        .into_iter()
        .map(|(name, text)| (name, rustfmt(&text)))
        .collect();
    for (name, text) in &files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, text).unwrap();
            }
            stale.push(name.clone());
        }
    }
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !files.contains_key(&name) {
            if update {
                std::fs::remove_file(entry.path()).unwrap();
            }
            stale.push(format!("{name} (no longer generated)"));
        }
    }
    if update {
        eprintln!("rewrote {} generated file(s): {stale:?}", stale.len());
        return;
    }
    assert!(
        stale.is_empty(),
        "src/api/generated/ is out of date ({stale:?}); run scripts/generate"
    );
}

/// The code as `cargo fmt` leaves it, so formatting the tree never makes it stale.
fn rustfmt(text: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt must be installed (rustup component add rustfmt)");
    let mut stdin = child.stdin.take().unwrap();
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "rustfmt failed on generated code");
    String::from_utf8(out.stdout).unwrap()
}
