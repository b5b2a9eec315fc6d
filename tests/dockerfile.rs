//! The Dockerfile's build stage, replayed without Docker, so a file the image forgets (or a
//! manifest cargo refuses) fails the suite instead of the first `docker build`.
//!
//! What is replayed: the build stage's WORKDIR, COPY and RUN lines, in order, inside an
//! empty temp folder standing in for `/`. COPY copies exactly what it names from the
//! repository (after checking `.dockerignore` lets it into the build context); RUN lines
//! run under `sh` with a `cargo` stand-in on PATH that turns `cargo build` into
//! `cargo fetch --locked --target <host>` (cargo's strict manifest check: every declared
//! target must exist, and Cargo.lock must be current; only the host's dependencies, which
//! the test build already downloaded) plus a check that each `--bin` exists.
//! After the last RUN, every target and every `include_str!`/`include_bytes!` file the
//! sources name must be present.
//!
//! What is not: compiling (a release build takes minutes; set `DOCKER_REPLAY_CHECK=1` to
//! also `cargo check` the copied tree, in its own target dir `target/dockerfile-replay` so
//! it never waits on the lock of the `cargo test` that runs this), the base images, the
//! runtime stage's RUN lines and network access. The runtime stage is only read: its labels
//! and its user.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(unix)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One instruction, continuation lines joined.
#[derive(Debug, Clone)]
struct Instruction {
    op: String,
    args: String,
}

/// Stages in order: (name, instructions).
fn stages() -> Vec<(Option<String>, Vec<Instruction>)> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("Dockerfile")).unwrap();
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            joined.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<(Option<String>, Vec<Instruction>)> = Vec::new();
    for line in joined {
        let (op, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let op = op.to_ascii_uppercase();
        let args = args.trim().to_string();
        if op == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, kw, name] if kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push((name, Vec::new()));
        } else {
            stages
                .last_mut()
                .expect("an instruction before FROM")
                .1
                .push(Instruction { op, args });
        }
    }
    stages
}

/// The stage the final image copies its binary from.
fn build_stage() -> Vec<Instruction> {
    let all = stages();
    let (_, last) = all.last().unwrap();
    let from = last
        .iter()
        .filter(|i| i.op == "COPY")
        .find_map(|i| i.args.strip_prefix("--from="))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the final stage copies from a build stage")
        .to_string();
    all.iter()
        .find(|(name, _)| name.as_deref() == Some(from.as_str()))
        .map(|(_, ins)| ins.clone())
        .unwrap_or_else(|| panic!("no stage named {from}"))
}

/// Top-level names `.dockerignore` lets into the build context. Only the allow-list form
/// (`*` then `!name` lines) is understood; anything else fails loudly here.
fn context_allows() -> impl Fn(&str) -> bool {
    let text = std::fs::read_to_string(Path::new(ROOT).join(".dockerignore")).unwrap_or_default();
    let mut everything_out = false;
    let mut allowed = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "*" {
            everything_out = true;
        } else if let Some(name) = line.strip_prefix('!') {
            assert!(
                !name.contains(['*', '?', '[', '/']),
                ".dockerignore line {line:?}: the replay understands only `*` and `!<top-level name>`"
            );
            allowed.push(name.to_string());
        } else {
            panic!(
                ".dockerignore line {line:?}: the replay understands only `*` and `!<top-level name>`"
            );
        }
    }
    move |path: &str| {
        let top = path
            .trim_start_matches("./")
            .split('/')
            .next()
            .unwrap_or("");
        !everything_out || allowed.iter().any(|a| a == top)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(from, to).unwrap();
    }
}

/// `/a/b` inside the fake root; relative paths against the work dir.
fn inside(root: &Path, workdir: &Path, p: &str) -> PathBuf {
    match p.strip_prefix('/') {
        Some(abs) => root.join(abs),
        None => workdir.join(p),
    }
}

/// `COPY [--flags] src... dest`, Docker's semantics for plain paths.
fn replay_copy(args: &str, root: &Path, workdir: &Path, allowed: &dyn Fn(&str) -> bool) {
    assert!(
        !args.starts_with('['),
        "COPY {args}: the replay does not read the JSON form"
    );
    let words: Vec<&str> = args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let (dest, sources) = words.split_last().expect("COPY needs a destination");
    let dest_is_dir = dest.ends_with('/') || sources.len() > 1;
    let dest = inside(root, workdir, dest);
    for src in sources {
        assert!(
            !src.contains(['*', '?', '[']),
            "COPY {src}: the replay does not expand globs"
        );
        assert!(
            allowed(src),
            "COPY {src}: .dockerignore keeps it out of the build context; add `!{src}` there"
        );
        let from = Path::new(ROOT).join(src);
        assert!(from.exists(), "COPY {src}: no such file in the repository");
        if from.is_dir() {
            copy_tree(&from, &dest);
        } else if dest_is_dir || dest.is_dir() {
            copy_tree(&from, &dest.join(from.file_name().unwrap()));
        } else {
            copy_tree(&from, &dest);
        }
    }
}

/// A `cargo` that checks instead of building; see the module comment.
const CARGO_STANDIN: &str = r#"#!/bin/sh
echo "$*" >> "$REPLAY_LOG"
case "$1" in
  build|check|install) ;;
  *) echo "dockerfile replay: no stand-in for cargo $1" >&2; exit 97 ;;
esac
host="$(rustc -vV | sed -n 's/^host: //p')"
"$REAL_CARGO" fetch --locked --offline --quiet --target "$host" || exit $?
prev=""
for a in "$@"; do
  if [ "$prev" = "--bin" ]; then
    "$REAL_CARGO" read-manifest | grep -q "\"kind\":\[\"bin\"\],\"crate_types\":\[\"bin\"\],\"name\":\"$a\"" \
      || { echo "dockerfile replay: no bin target named $a" >&2; exit 98; }
  fi
  prev="$a"
done
"#;

/// Runs the replay; returns the fake root, the work dir and the cargo commands seen.
fn replay() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join(".replay-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let standin = bin.join("cargo");
    std::fs::write(&standin, CARGO_STANDIN).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = root.path().join(".replay-log");
    let real_cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let allowed = context_allows();
    let mut workdir = root.path().to_path_buf();
    for ins in build_stage() {
        match ins.op.as_str() {
            "WORKDIR" => {
                workdir = inside(root.path(), &workdir, &ins.args);
                std::fs::create_dir_all(&workdir).unwrap();
            }
            "COPY" => replay_copy(&ins.args, root.path(), &workdir, &allowed),
            "RUN" => {
                let out = Command::new("sh")
                    .arg("-ec")
                    .arg(&ins.args)
                    .current_dir(&workdir)
                    .env("PATH", &path)
                    .env("REAL_CARGO", &real_cargo)
                    .env("REPLAY_LOG", &log)
                    .env("CARGO_NET_OFFLINE", "true")
                    .env("CARGO_TARGET_DIR", root.path().join(".replay-target"))
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "RUN {} failed in the replay:\n{}{}",
                    ins.args,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            // ENV, ARG, LABEL, USER... change nothing the replay checks.
            _ => {}
        }
    }
    let cargo_calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (root, workdir, cargo_calls)
}

/// Every `include_str!("…")` / `include_bytes!("…")` literal under `dir`, resolved.
fn includes(dir: &Path, out: &mut Vec<(PathBuf, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            includes(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for mac in ["include_str!(\"", "include_bytes!(\""] {
                for (at, _) in text.match_indices(mac) {
                    let rest = &text[at + mac.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let target = path.parent().unwrap().join(&rest[..end]);
                    out.push((path.clone(), target));
                }
            }
        }
    }
}

#[test]
fn the_build_stage_copies_everything_cargo_needs() {
    let (_root, workdir, calls) = replay();
    assert!(!calls.is_empty(), "the build stage runs no cargo command");
    for call in &calls {
        assert!(
            call.split_whitespace().any(|w| w == "--locked"),
            "`cargo {call}` in the Dockerfile: builds must use --locked, so the image gets Cargo.lock's versions"
        );
    }
    // Targets cargo would build, as cargo itself lists them from the copied manifest.
    let manifest = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("read-manifest")
        .current_dir(&workdir)
        .output()
        .unwrap();
    assert!(manifest.status.success());
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    for t in manifest["targets"].as_array().unwrap() {
        let kinds = t["kind"].to_string();
        if kinds.contains("lib") || kinds.contains("bin") {
            let src = PathBuf::from(t["src_path"].as_str().unwrap());
            assert!(
                src.is_file(),
                "target {} needs {}",
                t["name"],
                src.display()
            );
        }
    }
    let mut found = Vec::new();
    includes(&workdir.join("src"), &mut found);
    // The build script (cargo runs it when the file is there) and the files it reads: it
    // deflates tools.toml into the binary.
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("build.rs")
        .is_file()
    {
        let copied = workdir.join("build.rs");
        assert!(
            copied.is_file(),
            "the repository has build.rs, which the Dockerfile does not copy"
        );
        let text = std::fs::read_to_string(&copied).unwrap();
        for call in ["std::fs::read(\"", "std::fs::read_to_string(\""] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let Some(end) = rest.find('"') else { continue };
                found.push((copied.clone(), workdir.join(&rest[..end])));
            }
        }
    }
    assert!(
        found.iter().any(|(_, t)| t.ends_with("tools.toml")),
        "expected the build to read tools.toml (build.rs or an include in src/)"
    );
    for (file, target) in found {
        assert!(
            target.is_file(),
            "{} includes {}, which the Dockerfile does not copy",
            file.display(),
            target.display()
        );
    }

    // The slow, thorough version: compile-check exactly what the image would compile.
    if std::env::var("DOCKER_REPLAY_CHECK").is_ok_and(|v| v == "1") {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["check", "--locked", "--offline", "--bin", "mistral-mcp"])
            .current_dir(&workdir)
            .env(
                "CARGO_TARGET_DIR",
                Path::new(ROOT).join("target").join("dockerfile-replay"),
            )
            .status()
            .unwrap();
        assert!(status.success(), "cargo check of the replayed tree failed");
    }
}

#[test]
fn the_replay_catches_a_forgotten_file() {
    // The bug this test exists for: a declared bench the dependency stage did not provide.
    let bad = "mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
               && cargo build --release --locked --bin mistral-mcp";
    let root = tempfile::tempdir().unwrap();
    for f in ["Cargo.toml", "Cargo.lock"] {
        std::fs::copy(Path::new(ROOT).join(f), root.path().join(f)).unwrap();
    }
    let bin = root.path().join(".replay-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("cargo"), CARGO_STANDIN).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("sh")
        .arg("-ec")
        .arg(bad)
        .current_dir(root.path())
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env(
            "REAL_CARGO",
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        )
        .env("REPLAY_LOG", root.path().join("log"))
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("hot_paths"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_image_is_labelled_for_the_registry_and_runs_as_non_root() {
    let all = stages();
    let (_, last) = all.last().unwrap();
    let mut labels = HashMap::new();
    for ins in last.iter().filter(|i| i.op == "LABEL") {
        // key="value" pairs; values here never contain `" `.
        for pair in ins.args.split("\" ") {
            if let Some((k, v)) = pair.split_once('=') {
                labels.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
    }
    for key in [
        "io.modelcontextprotocol.server.name",
        "org.opencontainers.image.source",
        "org.opencontainers.image.version",
        "org.opencontainers.image.licenses",
    ] {
        assert!(labels.contains_key(key), "missing LABEL {key}: {labels:?}");
    }
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION"),
        "the image version label must follow Cargo.toml"
    );
    assert_eq!(
        labels["org.opencontainers.image.licenses"],
        env!("CARGO_PKG_LICENSE")
    );
    assert!(
        labels["io.modelcontextprotocol.server.name"].ends_with("/mistral-mcp"),
        "{labels:?}"
    );
    let user = last
        .iter()
        .rev()
        .find(|i| i.op == "USER")
        .map(|i| i.args.clone())
        .expect("the runtime stage sets USER");
    assert!(
        user != "0" && user != "root",
        "the image must not run as root"
    );
}
