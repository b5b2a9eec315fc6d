//! mcp-bench: the side-by-side benchmark behind `bench/run`.
//!
//! mcp-bench stub ADDR          the upstream stub (prints `listening <addr>`)
//! mcp-bench run [options]      the whole comparison; prints the Markdown report
//! mcp-bench load --addr A ...  load one running server over Streamable HTTP (for profiling;
//!                              --bearer TOKEN sends a credential)

mod client;
mod measure;
mod report;
mod run;
mod stub;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match args.first().map(String::as_str) {
            Some("stub") => {
                stub::serve(args.get(1).map_or("127.0.0.1:0", String::as_str)).await?;
                Ok(true)
            }
            Some("run") => run::main(run::Opts::parse(&args[1..])?).await,
            Some("load") => run::load_main(&args[1..]).await,
            _ => anyhow::bail!(
                "usage: mcp-bench stub ADDR | mcp-bench run [options] (see bench/run)"
            ),
        }
    });
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("\nBENCH FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
