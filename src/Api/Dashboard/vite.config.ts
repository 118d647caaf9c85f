import { defineConfig } from 'vite';

// Built by the Api project (see Ops.Api.csproj) into dist/, which the Api serves at /.
// `npm run dev` serves the page with hot reload and forwards /v1 to a running Api (OPS_API, default the AppHost's).
export default defineConfig({
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { proxy: { '/v1': { target: process.env.OPS_API ?? 'http://127.0.0.1:5080', changeOrigin: true } } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
});
