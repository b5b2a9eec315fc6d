# Multi-stage build: a full Rust toolchain to compile, a small non-root image to run.
#   docker build -t mistral-mcp .
#   docker run -i --rm -e MISTRAL_API_KEY mistral-mcp                         # stdio (default)
#   docker run --rm -p 8080:8080 -e MISTRAL_API_KEY -e MISTRAL_MCP_HTTP_TOKEN \
#     mistral-mcp serve --http 0.0.0.0:8080                                    # shared HTTP endpoint

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src examples && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > examples/search_eval.rs \
    && cargo build --release --locked \
    && rm -rf src examples
COPY src ./src
COPY examples ./examples
COPY tools.toml ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin mistral-mcp

FROM debian:bookworm-slim
# CA certificates for TLS to Mistral; nothing else is needed at run time.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home mcp
LABEL org.opencontainers.image.title="mistral-mcp" \
      org.opencontainers.image.description="MCP server exposing the Mistral AI API as tools" \
      io.modelcontextprotocol.server.name="io.github.mistral-mcp/mistral-mcp"
COPY --from=build /src/target/release/mistral-mcp /usr/local/bin/mistral-mcp
USER 10001
ENTRYPOINT ["/usr/local/bin/mistral-mcp"]
CMD ["serve"]
