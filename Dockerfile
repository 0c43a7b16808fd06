# glmbot service image: Node 20 slim, non-root, production dependencies only.
# node-llama-cpp's prebuilt CUDA binaries come from npm (@node-llama-cpp/linux-x64-cuda), so the host needs
# only the NVIDIA driver and container toolkit.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN mkdir -p models data && chown -R node:node models data
USER node
EXPOSE 8080
CMD ["node", "bin/glmbot.js", "serve"]
