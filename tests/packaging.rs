//! Packaging metadata stays valid and in step with the crate: `server.json` against the MCP
//! Registry's published schema (vendored in packaging/mcp-registry/), the MCPB manifest, the
//! README's registry ownership line, the published crate's file list and the release config.
//! The MCPB bundle itself is packed and started by scripts/pack-mcpb (a scripts/test step).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use mistral_mcp::config::env;
use serde_json::Value;

const SERVER_NAME: &str = "io.github.mistral-mcp/mistral-mcp";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MCPB_PLATFORMS: [(&str, &str); 5] = [
    ("darwin", "arm64"),
    ("darwin", "x64"),
    ("win32", "x64"),
    ("linux", "x64"),
    ("linux", "arm64"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cargo_toml() -> toml::Value {
    toml::from_str(&read("Cargo.toml")).unwrap()
}

fn packages<'a>(server: &'a Value, registry_type: &str) -> Vec<&'a Value> {
    server["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["registryType"] == registry_type)
        .collect()
}

#[test]
fn server_json_validates_against_the_registry_schema() {
    let server = json("server.json");
    let id = server["$schema"].as_str().unwrap();
    let date = id
        .strip_prefix("https://static.modelcontextprotocol.io/schemas/")
        .and_then(|s| s.strip_suffix("/server.schema.json"))
        .unwrap_or_else(|| panic!("unexpected $schema {id}"));
    let schema = json(&format!("packaging/mcp-registry/server.schema.{date}.json"));
    assert_eq!(
        schema["$id"], id,
        "vendored schema is not the one server.json names"
    );
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&server)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "server.json is invalid:\n{}",
        errors.join("\n")
    );

    // The schema is not toothless: a broken copy is refused.
    let mut broken = server.clone();
    broken["name"] = Value::from("no slash");
    broken["packages"][0]["version"] = Value::from("latest");
    assert!(validator.iter_errors(&broken).count() >= 2);
}

#[test]
fn server_json_agrees_with_the_crate_the_image_and_the_bundles() {
    let server = json("server.json");
    assert_eq!(server["name"], SERVER_NAME);
    assert_eq!(
        server["version"], VERSION,
        "bump server.json with Cargo.toml"
    );
    // The registry's official-publisher rules that the schema does not express.
    assert!(server["description"].as_str().unwrap().len() <= 100);

    let cargo = packages(&server, "cargo");
    assert_eq!(cargo.len(), 1);
    assert_eq!(cargo[0]["identifier"], env!("CARGO_PKG_NAME"));
    assert_eq!(cargo[0]["version"], VERSION);
    assert_eq!(cargo[0]["transport"]["type"], "stdio");
    let key = &cargo[0]["environmentVariables"][0];
    assert_eq!(key["name"], env::API_KEY);
    assert_eq!(key["isSecret"], true);
    assert_eq!(
        cargo[0]["environmentVariables"][1]["name"],
        env::ALLOWED_DIRS
    );

    let oci = packages(&server, "oci");
    assert_eq!(oci.len(), 1);
    assert_eq!(
        oci[0]["identifier"],
        format!("ghcr.io/mistral-mcp/mistral-mcp:{VERSION}")
    );
    let label = format!("io.modelcontextprotocol.server.name=\"{SERVER_NAME}\"");
    assert!(
        read("Dockerfile").contains(&label),
        "the image's ownership label must name {SERVER_NAME}"
    );

    let mcpb = packages(&server, "mcpb");
    let expected: Vec<String> = MCPB_PLATFORMS
        .iter()
        .map(|(os, arch)| {
            format!(
                "https://github.com/mistral-mcp/mistral-mcp/releases/download/v{VERSION}/mistral-mcp-{VERSION}-{os}-{arch}.mcpb"
            )
        })
        .collect();
    let got: Vec<&str> = mcpb
        .iter()
        .map(|p| p["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        got, expected,
        "one bundle per platform, named as scripts/pack-mcpb names it"
    );
    for p in &mcpb {
        // Registry: the URL contains "mcp", the hash is given. In the repository it is the
        // 64-zero placeholder the release flow fills in (packaging/RELEASING.md).
        let sha = p["fileSha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64);
        assert!(
            sha.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(p["transport"]["type"], "stdio");
    }

    let remotes = server["remotes"].as_array().unwrap();
    assert_eq!(remotes.len(), 1);
    assert_eq!(remotes[0]["type"], "streamable-http");
    assert!(remotes[0]["url"].as_str().unwrap().ends_with("/mcp"));
    let auth = &remotes[0]["headers"][0];
    assert_eq!(auth["name"], "Authorization");
    assert_eq!(auth["isSecret"], true);
    assert_eq!(auth["variables"]["token"]["isSecret"], true);
}

#[test]
fn readme_names_the_server_for_the_registry() {
    // The registry proves a cargo crate ours by `mcp-name: <server name>` in the README as
    // rendered by the crate registry, which drops HTML comments: it must be visible text,
    // followed by a boundary (whitespace, a tag, end of line).
    let readme = read("README.md");
    let token = format!("mcp-name: {SERVER_NAME}");
    let line = readme
        .lines()
        .find(|l| l.contains(&token))
        .unwrap_or_else(|| panic!("README lacks `{token}`"));
    assert!(
        !line.contains("<!--"),
        "the mcp-name line must not be a comment"
    );
    let after = &line[line.find(&token).unwrap() + token.len()..];
    assert!(
        after.is_empty() || after.starts_with([' ', '`', '<']),
        "`{token}` runs on into {after:?}"
    );
    assert_eq!(
        cargo_toml()["package"]["readme"].as_str(),
        Some("README.md")
    );
}

#[test]
fn mcpb_manifest_fits_the_server() {
    let m = json("packaging/mcpb/manifest.json");
    assert_eq!(m["name"], env!("CARGO_PKG_NAME"));
    assert_eq!(
        m["version"], VERSION,
        "bump the MCPB manifest with Cargo.toml"
    );
    assert_eq!(m["server"]["type"], "binary");
    assert_eq!(
        m["tools_generated"], true,
        "tools come from the catalog at run time"
    );
    let cfg = &m["server"]["mcp_config"];
    assert_eq!(cfg["command"], "${__dirname}/server/mistral-mcp");
    assert_eq!(m["server"]["entry_point"], "server/mistral-mcp");
    assert_eq!(
        cfg["platform_overrides"]["win32"]["command"],
        "${__dirname}/server/mistral-mcp.exe"
    );

    let user_config = m["user_config"].as_object().unwrap();
    let key = &user_config["api_key"];
    assert_eq!(key["sensitive"], true);
    assert_eq!(key["required"], true);
    assert_eq!(user_config["allowed_directory"]["type"], "directory");

    // Every env map (default and per platform) passes the key and the allowed directories,
    // joined with that platform's list separator (std::env::split_paths in config.rs).
    for (envs, sep) in [
        (&cfg["env"], ':'),
        (&cfg["platform_overrides"]["win32"]["env"], ';'),
    ] {
        assert_eq!(envs[env::API_KEY], "${user_config.api_key}");
        assert_eq!(
            envs[env::ALLOWED_DIRS],
            format!(
                "${{user_config.allowed_directory}}{sep}${{user_config.more_allowed_directories}}"
            )
        );
        // A `multiple` field is an array, which clients cannot put into a string: the mcpb
        // library leaves such a placeholder unreplaced. And an unset optional field stays
        // a literal placeholder too, so each one referenced needs a default.
        for value in envs.as_object().unwrap().values() {
            let value = value.as_str().unwrap();
            for field in value.split("${user_config.").skip(1) {
                let field = &field[..field.find('}').unwrap()];
                let opt = &user_config[field];
                assert!(opt.is_object(), "env refers to unknown user_config.{field}");
                assert_ne!(opt["multiple"], true, "user_config.{field} is an array");
                assert!(
                    opt["required"] == true || opt.get("default").is_some(),
                    "optional user_config.{field} has no default"
                );
            }
        }
    }
}

#[test]
fn published_crate_ships_what_the_build_needs_and_no_test_data() {
    let cargo = cargo_toml();
    let package = &cargo["package"];
    assert!(package.get("publish").is_none(), "the crate is publishable");
    for field in [
        "description",
        "license",
        "repository",
        "readme",
        "keywords",
        "categories",
    ] {
        assert!(
            package.get(field).is_some(),
            "Cargo.toml lacks package.{field}"
        );
    }
    let include: Vec<&str> = package["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The two pattern shapes `include` uses: `/dir/**/*.ext` (any depth), `/dir/*.ext` (one
    // level), and plain paths.
    let shipped = |path: &str| {
        include.iter().any(|pat| {
            let pat = pat.trim_start_matches('/');
            if let Some((dir, ext)) = pat.split_once("/**/*") {
                path.starts_with(&format!("{dir}/")) && path.ends_with(ext)
            } else if let Some((dir, ext)) = pat.split_once("/*") {
                path.strip_prefix(&format!("{dir}/"))
                    .is_some_and(|rest| !rest.contains('/') && rest.ends_with(ext))
            } else {
                pat == path
            }
        })
    };
    // Every file the sources embed at compile time.
    let mut embedded = Vec::new();
    collect_includes(&root().join("src"), &mut embedded);
    // The build script and the files it reads (it deflates the catalog into the binary).
    if root().join("build.rs").exists() {
        embedded.push("build.rs".to_string());
        let text = read("build.rs");
        for call in ["std::fs::read(\"", "std::fs::read_to_string(\""] {
            for rest in text.split(call).skip(1) {
                embedded.push(rest[..rest.find('"').unwrap()].to_string());
            }
        }
    }
    assert!(
        embedded.iter().any(|p| p == "tools.toml"),
        "the build embeds tools.toml (an include in src/ or a read in build.rs): {embedded:?}"
    );
    for path in embedded {
        assert!(
            shipped(&path),
            "{path} is embedded by the build but not in `include`"
        );
    }
    for path in [
        "src/main.rs",
        "src/lib.rs",
        "tools.toml",
        "README.md",
        "CHANGELOG.md",
    ] {
        assert!(shipped(path), "{path} must be in the published crate");
        assert!(root().join(path).exists(), "{path} is missing");
    }
    for path in [
        "tests/snapshots/tools_list_snapshot__tools_list_dynamic.snap",
        "tests/snapshots/tools/chat_complete.json",
        "bench/Cargo.toml",
        "tests/data/intents-heldout.tsv",
        "packaging/mcpb/manifest.json",
        "scripts/test",
    ] {
        assert!(
            !shipped(path),
            "{path} must stay out of the published crate"
        );
    }
}

/// The repository-relative paths of every `include_str!`/`include_bytes!` under `dir`.
fn collect_includes(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_includes(&path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for macro_ in ["include_str!(\"", "include_bytes!(\""] {
            for rest in text.split(macro_).skip(1) {
                let rel = &rest[..rest.find('"').unwrap()];
                let full = path.parent().unwrap().join(rel);
                let full = full.canonicalize().unwrap_or(full);
                let repo = full.strip_prefix(root().canonicalize().unwrap()).unwrap();
                out.push(repo.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

#[test]
fn release_config_covers_every_platform_and_matches_binstall() {
    let dist: toml::Value = toml::from_str(&read("dist-workspace.toml")).unwrap();
    let dist = &dist["dist"];
    let targets: Vec<&str> = dist["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for t in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.contains(&t), "dist-workspace.toml lacks target {t}");
    }
    let installers: Vec<&str> = dist["installers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(installers, ["shell", "powershell"]);

    // cargo binstall looks for exactly the archives dist publishes.
    let cargo = cargo_toml();
    let binstall = &cargo["package"]["metadata"]["binstall"];
    assert_eq!(dist["unix-archive"].as_str(), Some(".tar.xz"));
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("txz"));
    assert_eq!(dist["windows-archive"].as_str(), Some(".zip"));
    let windows = &binstall["overrides"]["x86_64-pc-windows-msvc"];
    assert_eq!(windows["pkg-fmt"].as_str(), Some("zip"));
    // dist wraps .tar.xz contents in `<name>-<target>/` but puts a .zip's at its root.
    assert_eq!(
        binstall["bin-dir"].as_str(),
        Some("{ name }-{ target }/{ bin }{ binary-ext }")
    );
    assert_eq!(windows["bin-dir"].as_str(), Some("{ bin }{ binary-ext }"));
    assert!(
        binstall["pkg-url"]
            .as_str()
            .unwrap()
            .starts_with("{ repo }/releases/download/v{ version }/{ name }-{ target }")
    );
    assert_eq!(
        cargo["profile"]["dist"]["inherits"].as_str(),
        Some("release")
    );
}
