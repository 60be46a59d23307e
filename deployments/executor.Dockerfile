# The executor image: an executor instance (services/executor); run as many as the load needs. Build from the repository root (the go.work workspace):
#   docker build -f deployments/executor.Dockerfile -t jobcenter/executor .
# (docker compose builds it so, from deployments/docker-compose.yml.)

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.work go.work.sum go.mod go.sum ./
COPY contracts/go.mod contracts/
COPY clients/go/go.mod clients/go/
COPY shared/go.mod shared/go.sum shared/
COPY services/api/go.mod services/api/go.sum services/api/
COPY services/trigger/go.mod services/trigger/go.sum services/trigger/
COPY services/executor/go.mod services/executor/go.sum services/executor/
RUN go mod download
COPY . .
# Static binaries: the final image has no libc, no shell and no curl.
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/executor ./services/executor/cmd/executor && \
    go build -trimpath -ldflags="-s -w" -o /out/healthcheck ./cmd/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/executor /out/healthcheck /
USER 65532:65532
EXPOSE 8003
ENTRYPOINT ["/executor"]
