# syntax=docker/dockerfile:1
#
# Splitlyr API server image.
#
#   docker build -t splitlyr:dev .
#   docker run --rm -p 3000:3000 --read-only \
#     -e JWT_SECRET=... -e MONGO_URL=mongodb://... splitlyr:dev
#
# Stage 1 compiles the dependency graph against a dummy crate so that the
# (slow, fat-LTO) dependency build is cached in its own layer and only
# re-runs when Cargo.toml / Cargo.lock change. Stage 2 builds the real
# sources. The runtime stage is distroless (glibc + libgcc, no shell, no
# package manager) and runs as the fixed non-root UID/GID 65532.

ARG RUST_VERSION=1

############################ builder #########################################
FROM rust:${RUST_VERSION}-bookworm AS builder

ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    CARGO_NET_RETRY=5

WORKDIR /build

# --- dependency layer -------------------------------------------------------
# Only the manifests: a source edit does not invalidate this layer.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
 && printf 'fn main() {}\n' > src/main.rs \
 && : > src/lib.rs \
 && cargo fetch --locked \
 && cargo build --release --locked --bin splitlyr \
 && rm -rf src \
           target/release/splitlyr \
           target/release/deps/splitlyr-* \
           target/release/deps/libsplitlyr-* \
           target/release/.fingerprint/splitlyr-*

# --- application layer ------------------------------------------------------
COPY src ./src
# touch: make sure cargo sees the real sources as newer than the dummy build.
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --offline --bin splitlyr \
 && install -D -m 0755 target/release/splitlyr /out/splitlyr

############################ runtime #########################################
# distroless "nonroot" already defines uid/gid 65532 ("nonroot"); it is
# repeated numerically below so Kubernetes runAsNonRoot can verify it.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

LABEL org.opencontainers.image.title="splitlyr" \
      org.opencontainers.image.description="Splitlyr expense-sharing API server" \
      org.opencontainers.image.licenses="UNLICENSED"

ENV APP_CONFIG_DIR=/etc/splitlyr \
    APP_ENVIRONMENT=production

COPY --from=builder --chown=0:0 --chmod=0755 /out/splitlyr /usr/local/bin/splitlyr
# Owned by root, readable by all: the service user cannot modify its config.
COPY --chown=0:0 config/ /etc/splitlyr/

# Nothing is written to disk: the image works with a read-only root FS.
USER 65532:65532
WORKDIR /

EXPOSE 3000
STOPSIGNAL SIGTERM

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/splitlyr", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/splitlyr"]
