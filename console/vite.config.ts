import { defineConfig } from 'vitest/config';

// The console is served by `qvdc serve` from the folder this writes (QX_CONSOLE_OUT, set by
// scripts/build-console; default: the run build's). Hashed names under assets/ are cached as
// immutable by the server; index.html is not cached.
export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.QX_CONSOLE_OUT ?? '../build/console',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // No inline script or style: the server's Content-Security-Policy forbids both.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
