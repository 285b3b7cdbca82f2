import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

const backend = 'http://127.0.0.1:8000'

export default defineConfig({
  base: '/',
  plugins: [vue()],
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('./src', import.meta.url)),
    },
  },
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: backend, changeOrigin: true },
      '/healthz': { target: backend, changeOrigin: true },
      '/readyz': { target: backend, changeOrigin: true },
      '/metrics': { target: backend, changeOrigin: true },
    },
  },
  build: {
    outDir: '../src/medreach/web/dist',
    emptyOutDir: true,
    // Element Plus is installed whole (one import, every component available); keep it
    // and the Vue runtime in their own long-lived chunks, views are loaded per route.
    chunkSizeWarningLimit: 1100,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'element-plus', test: /node_modules[\\/](element-plus|@element-plus|@floating-ui|@popperjs|@sxzz|@vueuse|@ctrl|dayjs|async-validator|lodash|lodash-es|lodash-unified|memoize-one|normalize-wheel-es)[\\/]/, priority: 10 },
            { name: 'vue-vendor', test: /node_modules[\\/](vue|@vue|vue-router|vue-i18n|@intlify|pinia)[\\/]/, priority: 20 },
          ],
        },
      },
    },
  },
})
