use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = mistral_mcp::cli::Cli::parse();
    match mistral_mcp::app::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            // stderr only: in stdio mode stdout belongs to the protocol.
            eprintln!("mistral-mcp: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
