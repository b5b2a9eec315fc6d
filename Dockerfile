# Multi-stage build: a full Rust toolchain to compile, a small non-root image to run.
#   docker build -t mistral-mcp .
#   docker run -i --rm -e MISTRAL_API_KEY mistral-mcp                         # stdio (default)
#   docker run --rm -p 8080:8080 -e MISTRAL_API_KEY -e MISTRAL_MCP_HTTP_TOKEN \
#     mistral-mcp serve --http 0.0.0.0:8080                                    # shared HTTP endpoint
#   docker run --rm -e MISTRAL_API_KEY mistral-mcp doctor                      # check key and network
#
# tests/dockerfile.rs replays the build stage without Docker (COPY lines and cargo's
# manifest checks), so a file this build forgets fails the test suite.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them. Cargo refuses a manifest whose
# declared targets are missing, so stubs stand in for every one Cargo.toml names (the bench
# is never built here; the stub stays for the second build too).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > benches/hot_paths.rs \
    && cargo build --release --locked --bin mistral-mcp \
    && rm -rf src
COPY src ./src
COPY build.rs tools.toml ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin mistral-mcp

FROM debian:bookworm-slim
# CA certificates for TLS to Mistral; nothing else is needed at run time.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home mcp
# The MCP Registry matches the image to its server.json entry by this name; version and
# license follow Cargo.toml (tests/dockerfile.rs keeps them in step).
LABEL org.opencontainers.image.title="mistral-mcp" \
      org.opencontainers.image.description="MCP server exposing the Mistral AI API as tools" \
      org.opencontainers.image.source="https://github.com/mistral-mcp/mistral-mcp" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.modelcontextprotocol.server.name="io.github.mistral-mcp/mistral-mcp"
COPY --from=build /src/target/release/mistral-mcp /usr/local/bin/mistral-mcp
USER 10001
ENTRYPOINT ["/usr/local/bin/mistral-mcp"]
CMD ["serve"]
