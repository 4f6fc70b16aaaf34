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
#
# Build arguments (the defaults build the image that is shipped):
#   BUILDER_IMAGE  base of the builder stage      (rust:${RUST_VERSION}-bookworm)
#   RUNTIME_IMAGE  base of the runtime stage      (gcr.io/distroless/cc-debian12:nonroot)
#   BINARY         where the binary comes from:   builder (default): compiled here
#                                                 prebuilt: target/prebuilt/splitlyr
#                                                 from the build context
# BINARY=prebuilt takes a release binary built on the host, which must be
# linked against a glibc no newer than the runtime's (Debian bookworm, 2.36):
#
#   cargo build --release --locked --bin splitlyr
#   install -D target/release/splitlyr target/prebuilt/splitlyr
#   docker build --build-arg BINARY=prebuilt -t splitlyr:dev .
#
# Only the stages the chosen BINARY needs are built (BuildKit), so the
# runtime stage is the same whichever way the binary was made.
# scripts/check-image.sh builds it that way, with stand-ins of both base
# images made from Debian packages (registries are out of reach there).

# checkov:skip=CKV_DOCKER_7: the base images are build arguments; their defaults carry explicit tags (checked by scripts/check-deploy.sh)
ARG RUST_VERSION=1
ARG BUILDER_IMAGE=rust:${RUST_VERSION}-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG BINARY=builder

############################ builder #########################################
FROM ${BUILDER_IMAGE} AS builder

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

############################ prebuilt ########################################
# BINARY=prebuilt: a binary built outside (see the top of this file). The
# .dockerignore allow-list lets exactly this one file into the context.
FROM scratch AS prebuilt
COPY target/prebuilt/splitlyr /out/splitlyr

# The stage the runtime copies the binary from: `builder` or `prebuilt`.
FROM ${BINARY} AS binary

############################ runtime #########################################
# distroless "nonroot" already defines uid/gid 65532 ("nonroot"); it is
# repeated numerically below so Kubernetes runAsNonRoot can verify it.
FROM ${RUNTIME_IMAGE} AS runtime

LABEL org.opencontainers.image.title="splitlyr" \
      org.opencontainers.image.description="Splitlyr expense-sharing API server" \
      org.opencontainers.image.licenses="UNLICENSED"

ENV APP_CONFIG_DIR=/etc/splitlyr \
    APP_ENVIRONMENT=production

COPY --from=binary --chown=0:0 --chmod=0755 /out/splitlyr /usr/local/bin/splitlyr
# Owned by root, readable by all: the service user cannot modify its config.
# Only what production reads: config/local.toml and config/test.toml carry
# development secrets and stay out (the server also refuses those secrets
# outside local/test).
COPY --chown=0:0 config/default.toml config/production.toml /etc/splitlyr/

# Nothing is written to disk: the image works with a read-only root FS.
USER 65532:65532
WORKDIR /

# The API. The admin listener (/metrics, the detailed /v1/healthz) is on
# 3001, bound to the container's loopback unless APP__SERVER__ADMIN_HOST
# says otherwise (Kubernetes: 0.0.0.0, see k8s/base/config.env).
EXPOSE 3000
STOPSIGNAL SIGTERM

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/splitlyr", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/splitlyr"]
