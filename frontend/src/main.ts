import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus, { ElMessage } from 'element-plus'
import 'element-plus/dist/index.css'
import './styles/main.css'

import App from './App.vue'
import router from './router'
import { i18n } from './i18n'
import { setAuthFailureHandler } from './api/client'
import { useAuthStore } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)

// A refresh failed: the session is over. Log out locally and, on a page that needs a
// session, go to the matching login page.
setAuthFailureHandler(() => {
  const auth = useAuthStore(pinia)
  const wasLoggedIn = auth.isLoggedIn
  auth.reset()
  const route = router.currentRoute.value
  const inConsole = route.path.startsWith('/console')
  if (route.meta.requiresAuth || route.meta.requiresStaff) {
    if (wasLoggedIn) ElMessage.warning(i18n.global.t('auth.sessionExpired'))
    router.push({ name: inConsole ? 'console-login' : 'login', query: { redirect: route.fullPath } })
  }
})

app.mount('#app')
