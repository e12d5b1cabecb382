# idverify: a static binary (no cgo: SQLite is modernc.org/sqlite, pure Go) on distroless, run
# as a non-root user. Without Salesforce credentials it starts on demo settings.
#   docker build -t idverify . && docker run --rm -p 8080:8080 idverify
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -trimpath: no build paths in the binary; the module's VCS revision is stamped when .git is in
# the context (idverify version shows it).
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/idverify ./cmd/idverify

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/idverify /idverify
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/idverify"]
CMD ["serve", "--addr", ":8080"]
