# Stint's image: one image, two roles (api, worker). Node runs the TypeScript directly.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
# bin/stint sources it (it finds Node 24 here and installs nothing).
COPY scripts/node-env.sh ./scripts/node-env.sh
COPY config ./config
COPY src ./src
COPY workers ./workers
USER node
EXPOSE 8080
CMD ["node", "src/main.ts"]
