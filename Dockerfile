# glmbot service image: Node 20 slim (Debian 12), non-root, production dependencies only.
#
# GPU: node-llama-cpp ships llama.cpp's CUDA build as npm packages (@node-llama-cpp/linux-x64-cuda, with a
# CUDA 12 fallback in @node-llama-cpp/linux-x64-cuda-ext), installed by `npm ci`. They link against the CUDA
# runtime libraries (libcudart, libcublas), which this image installs from NVIDIA's apt repository — the
# runtime only, no CUDA toolkit or compiler. The host needs just the NVIDIA driver and the NVIDIA container
# toolkit, which mounts the driver (libcuda, libnvidia-ml) into the container. linux/amd64 only.
#
#   docker build -t glmbot .
#   docker run --gpus all -p 127.0.0.1:8080:8080 -v "$PWD/models:/app/models" -v "$PWD/data:/app/data" \
#     -e GLMBOT_WEBHOOK_TOKEN=... glmbot           (or: docker compose up -d)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- dependencies (build tools stay in this stage) ----------------------------------------------------
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# NODE_LLAMA_CPP_SKIP_DOWNLOAD: use the prebuilt binaries from npm; never download or compile llama.cpp here.
RUN NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# CUDA 12 runtime libraries for the prebuilt CUDA binary (driver >= 525 on the host; any newer driver works).
ARG CUDA_MAJOR_MINOR=12-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libgomp1 \
 && curl -fsSLo /tmp/cuda-keyring.deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
 && dpkg -i /tmp/cuda-keyring.deb \
 && rm /tmp/cuda-keyring.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends "cuda-cudart-${CUDA_MAJOR_MINOR}" "libcublas-${CUDA_MAJOR_MINOR}" \
 && apt-get purge -y --auto-remove curl \
 && rm -rf /var/lib/apt/lists/*
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    NODE_ENV=production \
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true \
    GLMBOT_HOST=0.0.0.0 \
    GLMBOT_PORT=8080 \
    GLMBOT_MODELS_DIR=/app/models \
    GLMBOT_DATA_DIR=/app/data

WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node src ./src
COPY --chown=node:node config ./config
RUN mkdir -p /app/models /app/data && chown node:node /app/models /app/data

# The image's `node` user (uid 1000).
USER node
EXPOSE 8080
VOLUME ["/app/models", "/app/data"]
# Ready = model loaded (503 while it downloads or loads); give the first start time for the download.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GLMBOT_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/glmbot.js"]
CMD ["serve"]
