# One image for the three services; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile
ENV NODE_ENV=production
EXPOSE 8080
CMD ["node", "--import", "tsx", "services/gateway/src/main.ts"]
