# appauthz images.
#
#   docker build -t appauthz/authzd .               # default target: authzd + authzctl, no shell
#   docker build -t appauthz/seed --target seed .   # authzctl + deploy/seed/seed.sh on alpine
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) -t appauthz/authzd:v1.2.3 .
#
# VERSION and COMMIT reach `authzd --version`, `authzctl version`, the
# appauthz_build_info metric and the image's OCI labels.
#
# docker-compose.yml builds both.

ARG GO_VERSION=1.26
ARG VERSION=dev
ARG COMMIT=unknown

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Module downloads get their own layer so code edits do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries: the runtime images have no libc.
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION
ARG COMMIT
# -buildvcs=false: the build context has no .git, so the version and commit
# come in as build arguments instead.
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X github.com/appauthz/appauthz/internal/buildinfo.Version=${VERSION} -X github.com/appauthz/appauthz/internal/buildinfo.Commit=${COMMIT}" \
      -o /out/ ./cmd/authzd ./cmd/authzctl

# One-shot demo seeder. It needs a shell for its idempotency checks, which is
# why it is a separate image: the authzd image below has none.
FROM alpine:3.22 AS seed
ARG VERSION
ARG COMMIT
LABEL org.opencontainers.image.title="appauthz seed" \
      org.opencontainers.image.description="One-shot seeder of the appauthz docker compose demo (DEMO ONLY)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/authzctl /usr/local/bin/authzctl
COPY deploy/seed/seed.sh /usr/local/bin/seed.sh
USER 65532:65532
ENTRYPOINT ["/bin/sh", "/usr/local/bin/seed.sh"]

# The daemon. authzctl is included so operators can run
# `docker compose exec authzd authzctl ...` against the same Redis.
FROM gcr.io/distroless/static-debian12:nonroot AS authzd
ARG VERSION
ARG COMMIT
LABEL org.opencontainers.image.title="authzd" \
      org.opencontainers.image.description="appauthz: Envoy ext_authz server for AppCode, API key, HMAC, parameter-signature and OAuth2 client-credentials auth, with apps and keys in Redis" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/authzd /out/authzctl /usr/local/bin/
USER 65532:65532
# 9001: gRPC ext_authz (AUTHZ_GRPC_ADDR); 8081: HTTP health, metrics, OAuth2 (AUTHZ_HTTP_ADDR).
EXPOSE 9001 8081
ENTRYPOINT ["/usr/local/bin/authzd"]
