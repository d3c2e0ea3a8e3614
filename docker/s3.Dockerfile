# S3-compatible store of the compose cluster: s3s-fs (`cargo install s3s-fs
# --version 0.14.1 --features binary`, done by .ci/install) serving a directory. Build context:
# a directory holding the `s3s-fs` binary. Each top-level directory of /data is a bucket.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
# Lets `harness profile compose` prune its own superseded builds, nothing else.
LABEL org.scaling-harness.image=s3
COPY s3s-fs /usr/local/bin/s3s-fs
EXPOSE 8014
ENTRYPOINT ["/usr/local/bin/s3s-fs", "--host", "0.0.0.0", "--port", "8014"]
