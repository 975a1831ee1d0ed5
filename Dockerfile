# accessboard: one binary, one SQLite file, one container.
# Build:  docker build -t accessboard .
# Run:    docker run -p 8080:8080 -v accessboard-data:/data accessboard

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY .cargo ./.cargo
COPY src ./src
COPY benches ./benches
COPY db ./db
COPY assets ./assets
RUN cargo build --release --locked && strip target/release/accessboard

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin accessboard \
    && mkdir -p /data /etc/accessboard && chown accessboard /data
COPY --from=build /src/target/release/accessboard /usr/local/bin/accessboard
COPY settings.toml /etc/accessboard/settings.toml
# glibc would keep each sign-in check's freed 19 MiB (argon2) in its heap; a fixed mmap
# threshold hands it back at once (docs/reliability.md, "A sign-in flood").
ENV MALLOC_MMAP_THRESHOLD_=131072 \
    ACCESSBOARD_CONFIG=/etc/accessboard/settings.toml \
    ACCESSBOARD_SERVER__BIND=0.0.0.0:8080 \
    ACCESSBOARD_DATABASE__PATH=/data/accessboard.db
USER accessboard
WORKDIR /data
VOLUME /data
EXPOSE 8080
# /healthz, not /readyz: it turns 503 (with the reason) once provisioning has stopped or
# the database has refused writes for `unhealthy_after_secs`, which a restart may cure;
# /readyz only says whether pages can be served.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["accessboard", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["accessboard"]
CMD ["serve"]
