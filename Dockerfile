# Build: docker build -t fieldproof .   Run: docker run -p 8080:8080 fieldproof serve
FROM rust:1-bookworm AS build
# libjpeg-turbo 3 is built from source (cmake, nasm); HEIC goes through Debian's libheif.
RUN apt-get update && apt-get install -y --no-install-recommends cmake nasm libheif-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin fieldproof

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata libheif1 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/fieldproof fieldproof \
    && mkdir -p /var/lib/fieldproof && chown fieldproof /var/lib/fieldproof
COPY --from=build /src/target/release/fieldproof /usr/local/bin/fieldproof
USER fieldproof
WORKDIR /var/lib/fieldproof
ENV FIELDPROOF_LISTEN=0.0.0.0:8080 FIELDPROOF_DATA_DIR=/var/lib/fieldproof
EXPOSE 8080
ENTRYPOINT ["fieldproof"]
CMD ["serve"]
