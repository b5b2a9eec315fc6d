//! Coverage of Mistral's API by tools, read from the official spec. Prints the report
//! (`cargo test --test coverage -- --nocapture`) and fails when any operation of the spec
//! is neither a tool nor an exclusion with a reason in tools.toml, when an exclusion names
//! an operation the spec does not have, or when a tool's method and path are in no spec.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::spec;
use mistral_mcp::catalog::Catalog;

/// The report's group for a spec tag: the API area, as the catalog's toolsets name them.
fn group(tag: &str) -> String {
    let tag = tag.strip_prefix("beta.").unwrap_or(tag);
    let tag = tag.strip_prefix("deprecated.").unwrap_or(tag);
    let area = tag.split(['.', ',']).next().unwrap_or(tag);
    match area {
        "events" => "workflows".into(),
        "fine-tuning" => "fine-tuning jobs".into(),
        other => other.to_string(),
    }
}

#[test]
fn every_operation_is_a_tool_or_a_reasoned_exclusion() {
    let (Some(current), Some(old)) = (spec::spec(), spec::old_spec()) else {
        eprintln!("*** SKIPPED: coverage needs both spec files ***");
        return;
    };
    let catalog = Catalog::load(None).unwrap();
    let mut tools_by_op: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &catalog.tools {
        tools_by_op
            .entry(t.operation.clone())
            .or_default()
            .push(t.name.clone());
    }
    // The current spec, plus the fine-tuning job operations that only the older file keeps.
    let mut operations = current.all_operations();
    operations.extend(
        old.all_operations()
            .into_iter()
            .filter(|(_, path, _)| path.starts_with("/v1/fine_tuning/jobs")),
    );

    #[derive(Default)]
    struct Row {
        tools: usize,
        excluded: usize,
        missing: Vec<String>,
    }
    let mut groups: BTreeMap<String, Row> = BTreeMap::new();
    let mut in_spec = BTreeSet::new();
    for (method, path, tag) in &operations {
        let key = format!("{method} {path}");
        in_spec.insert(key.clone());
        let row = groups.entry(group(tag)).or_default();
        if tools_by_op.contains_key(&key) {
            row.tools += 1;
        } else if catalog.excluded.contains_key(&key) {
            row.excluded += 1;
        } else {
            row.missing.push(key);
        }
    }

    println!(
        "\nMistral API coverage (spec: openapi.yaml + fine-tuning jobs from openapi-2026-07-15.yaml)\n"
    );
    println!(
        "{:<18} {:>6} {:>9} {:>8}",
        "group", "tools", "excluded", "missing"
    );
    let (mut t, mut e, mut m) = (0, 0, 0);
    for (group, row) in &groups {
        println!(
            "{group:<18} {:>6} {:>9} {:>8}",
            row.tools,
            row.excluded,
            row.missing.len()
        );
        t += row.tools;
        e += row.excluded;
        m += row.missing.len();
    }
    println!("{:<18} {t:>6} {e:>9} {m:>8}", "total");
    println!("\nExcluded, with the reason:");
    for (op, reason) in &catalog.excluded {
        println!("  {op}: {reason}");
    }

    let missing: Vec<&String> = groups.values().flat_map(|r| &r.missing).collect();
    assert!(
        missing.is_empty(),
        "operations that are neither tools nor excluded: {missing:?}"
    );
    for op in catalog.excluded.keys() {
        assert!(
            in_spec.contains(op),
            "tools.toml excludes `{op}`, which no spec has"
        );
    }
    for (op, names) in &tools_by_op {
        assert!(
            in_spec.contains(op),
            "tools {names:?} call `{op}`, which no spec has"
        );
    }
}
