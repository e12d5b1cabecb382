# syntax=docker/dockerfile:1
# The idverify image: a static binary (no cgo: SQLite is modernc.org/sqlite) on distroless, as a
# non-root user. `docker build -t idverify .` then
#   docker run -p 8080:8080 idverify                       # the embedded demo (fake org, SQLite)
#   docker run -p 8080:8080 -v $PWD/idverify.yaml:/etc/idverify.yaml idverify serve --config /etc/idverify.yaml
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git stays in the build context so that the VCS stamp gives `idverify version` the module version and revision.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/idverify ./cmd/idverify

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/idverify /usr/local/bin/idverify
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/idverify"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
