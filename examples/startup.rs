//! Measures what a desktop client feels at launch: the time from spawning the server until
//! `tools/list` is answered, and the size of that answer in each tool mode.
//!
//! cargo build --release && cargo run --release --example startup -- target/release/mistral-mcp [runs]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

fn one_run(bin: &str, mode: &str) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["--tools", mode])
        .env("MISTRAL_API_KEY", "unused")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
    );
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"startup","version":"0"}}}}}}"#
    )?;
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )?;
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list"}}"#)?;
    stdin.flush()?;
    let mut line = String::new();
    let list_bytes;
    loop {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            anyhow::bail!("server closed stdout before answering tools/list");
        }
        if line.contains(r#""id":2"#) {
            let v: serde_json::Value = serde_json::from_str(&line)?;
            list_bytes = serde_json::to_string(&v["result"]["tools"])?.len();
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    drop(stdin);
    let _ = child.wait();
    Ok((elapsed, list_bytes))
}

fn main() -> anyhow::Result<()> {
    let bin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/mistral-mcp".into());
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let size = std::fs::metadata(&bin)?.len();
    println!("binary: {bin} ({:.1} MiB)", size as f64 / 1048576.0);
    for mode in ["all", "dynamic"] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let (ms, b) = one_run(&bin, mode)?;
            times.push(ms);
            bytes = b;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "--tools {mode:<8} spawn→tools/list: median {:.1} ms (min {:.1}, max {:.1}, {runs} runs); tools/list: {bytes} bytes",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    Ok(())
}
