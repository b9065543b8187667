// Builds the web app into web/dist, which the Firebreak server serves (with an SPA fallback to index.html).
// `npm run dev:web` serves it with hot reload and forwards API and sign-in requests to a running Firebreak
// (FIREBREAK_URL, default http://127.0.0.1:3000).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const target = process.env.FIREBREAK_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': target,
      '/auth': target,
    },
  },
});
