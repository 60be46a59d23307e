# The jobcenter image: the all-in-one program (cmd/jobcenter: embedded NATS and FerretDB, data under /data), for a single machine. Build from the repository root (the go.work workspace):
#   docker build -f deployments/jobcenter.Dockerfile -t jobcenter/jobcenter .
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
RUN go build -trimpath -ldflags="-s -w" -o /out/jobcenter ./cmd/jobcenter && \
    go build -trimpath -ldflags="-s -w" -o /out/healthcheck ./cmd/healthcheck && \
    mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jobcenter /out/healthcheck /
# /data belongs to the nonroot user, and a new volume mounted there inherits that.
COPY --from=build --chown=65532:65532 /out/data /data
ENV JOBCENTER_DATA_DIR=/data
VOLUME /data
USER 65532:65532
EXPOSE 8001
ENTRYPOINT ["/jobcenter"]
