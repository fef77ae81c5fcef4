# appauthz images.
#
#   docker build -t appauthz/authzd .               # default target: authzd + authzctl, no shell
#   docker build -t appauthz/seed --target seed .   # authzctl + deploy/seed/seed.sh on alpine
#
# docker-compose.yml builds both.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Module downloads get their own layer so code edits do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static binaries: the runtime images have no libc.
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/ ./cmd/authzd ./cmd/authzctl

# One-shot demo seeder. It needs a shell for its idempotency checks, which is
# why it is a separate image: the authzd image below has none.
FROM alpine:3.22 AS seed
COPY --from=build /out/authzctl /usr/local/bin/authzctl
COPY deploy/seed/seed.sh /usr/local/bin/seed.sh
USER 65532:65532
ENTRYPOINT ["/bin/sh", "/usr/local/bin/seed.sh"]

# The daemon. authzctl is included so operators can run
# `docker compose exec authzd authzctl ...` against the same Redis.
FROM gcr.io/distroless/static-debian12:nonroot AS authzd
COPY --from=build /out/authzd /out/authzctl /usr/local/bin/
USER 65532:65532
# 9001: gRPC ext_authz (AUTHZ_GRPC_ADDR); 8081: HTTP health, metrics, OAuth2 (AUTHZ_HTTP_ADDR).
EXPOSE 9001 8081
ENTRYPOINT ["/usr/local/bin/authzd"]
