# Synod replica image (docs/deploy.md). Multi-stage: the SDK image publishes one self-contained binary; the runtime
# image is Debian 12 slim with the two libraries it needs, a non-root user and a data volume.
#   docker build -t synod .
#   docker compose -f deploy/docker/docker-compose.yml up
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Synod.Cli -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -o /out

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/synod --shell /usr/sbin/nologin synod \
 && mkdir -p /var/lib/synod && chown synod:synod /var/lib/synod
COPY --from=build /out/synod /usr/local/bin/synod
USER synod
WORKDIR /var/lib/synod
VOLUME /var/lib/synod
# 7001: clients and peers (one port); 8001: the dashboard and /metrics (serve --http).
EXPOSE 7001 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["synod", "health", "--endpoint", "127.0.0.1:7001", "--timeout", "2s"]
ENTRYPOINT ["synod"]
CMD ["serve", "--help"]
